// Kept free of task-lib, so pure planners can use it.
import { dropInvisible } from "./output";

/**
 * Text from Azure or from inputs (display names, messages, names), placed in a summary's markdown
 * as plain text. The summary page renders markdown and HTML, so a display name holding
 * `[x](https://…)`, `<img src=x onerror=…>`, `**` or a bare URL must show as typed: markdown's
 * punctuation is backslash-escaped (CommonMark allows a backslash before any ASCII punctuation;
 * an escaped `:` or `.` also keeps linkify from turning a URL into a link), `&`, `<` and `>`
 * become entities, line breaks become spaces and invisible characters (bidi overrides, zero-width
 * joiners) are dropped. The one escaping function for summaries (`toMarkdown` applies it to
 * every plain piece of a report); the log is rendered from the same pieces, unescaped.
 */
export function markdownText(text: string): string {
  return dropInvisible(text)
    .replace(/\n/g, " ")
    .replace(/[\\`*_[\]()!|~:.#]/g, "\\$&")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}
