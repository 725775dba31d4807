// Kept free of task-lib, so pure planners can use it.
import { dropInvisible } from "./output";

/**
 * Text from Azure or from inputs (display names, messages, names), placed in a summary's markdown
 * as plain text. The summary page renders markdown and HTML, so a display name holding
 * `[x](https://…)`, `<img src=x onerror=…>`, `**` or a bare URL must show as typed. Escaped: the
 * punctuation that opens markup (CommonMark allows a backslash before any ASCII punctuation: links
 * and images need `[`, emphasis `*`/`_`, code `` ` ``, tables `|`, strikethrough `~`, headings `#`),
 * `&`, `<` and `>` as entities, and what autolinking looks for (`://`, `www.`, `@`). Line breaks
 * become spaces and invisible characters (bidi overrides, zero-width joiners) are dropped.
 * Punctuation that cannot open markup on its own (`.`, `:`, `(`) stays, so sentences read as
 * typed in the raw markdown. The one escaping function for summaries: `toMarkdown` applies it to
 * every plain piece of a report; the log is rendered from the same pieces, unescaped.
 */
export function markdownText(text: string): string {
  return dropInvisible(text)
    .replace(/\r?\n|\r/g, " ")
    .replace(/[\\`*_[\]!|~#@]/g, "\\$&")
    .replace(/:\/\//g, "\\://")
    .replace(/\b(www)\./gi, "$1\\.")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}
