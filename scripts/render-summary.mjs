#!/usr/bin/env node
// Renders job summaries (markdown written by the tasks) to one PNG for the Marketplace page, as the
// pipeline run's "Extensions" tab shows them. Run by hand when the summaries change; tests and CI do
// not depend on it (it needs a Chromium):
//
//   npx tsx scripts/demo.ts --summaries .tmp/summaries
//   node scripts/render-summary.mjs --out images/job-summary.png --height 640 \
//     .tmp/summaries/Deploy-apiServer.md .tmp/summaries/Deploy-apiServer-post.md
//
// Chromium: CHROMIUM=/path/to/chromium, else `chromium` or `chromium-browser` on PATH (Debian:
// apt-get install chromium). The markdown converter covers what the tasks' summaries use: headings,
// paragraphs, bold, italics, code, tables, lists, fenced code and <br>.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const [value] = argv.splice(i, 2).slice(1);
  return value;
};
const out = resolve(option("--out", "images/job-summary.png"));
const width = Number(option("--width", "1000"));
const height = Number(option("--height", "700"));
const files = argv;
if (files.length === 0) {
  console.error("usage: node scripts/render-summary.mjs [--out file.png] [--width px] [--height px] summary.md...");
  process.exit(2);
}

const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Inline markdown: code first (its content stays literal), then bold, italics and <br>. */
function inline(text) {
  return text
    .split(/(`[^`]*`)/)
    .map((part) =>
      part.startsWith("`") && part.endsWith("`") && part.length > 1
        ? `<code>${escape(part.slice(1, -1))}</code>`
        : escape(part)
            .replace(/&lt;br&gt;/g, "<br>")
            .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
            .replace(/(^|[\s(>])_([^_]+)_(?=$|[\s).,:;<])/g, "$1<em>$2</em>"),
    )
    .join("");
}

function cells(row) {
  return row
    .replace(/^\s*\|/, "")
    .replace(/\|\s*$/, "")
    .split("|")
    .map((c) => c.trim());
}

function markdownToHtml(md) {
  const lines = md.replace(/\r\n/g, "\n").split("\n");
  const html = [];
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const body = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
      i++;
      html.push(`<pre><code>${escape(body.join("\n"))}</code></pre>`);
    } else if (/^#{1,6} /.test(line)) {
      const level = /^#+/.exec(line)[0].length;
      html.push(`<h${level}>${inline(line.slice(level + 1))}</h${level}>`);
      i++;
    } else if (/^\s*\|/.test(line) && /^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1] ?? "")) {
      const head = cells(line);
      const rows = [];
      for (i += 2; i < lines.length && /^\s*\|/.test(lines[i]); i++) rows.push(cells(lines[i]));
      html.push(
        `<table><thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join("")}</tr></thead><tbody>` +
          rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`).join("") +
          "</tbody></table>",
      );
    } else if (/^\s*[-*] /.test(line)) {
      const items = [];
      for (; i < lines.length && /^\s*[-*] /.test(lines[i]); i++) items.push(`<li>${inline(lines[i].replace(/^\s*[-*] /, ""))}</li>`);
      html.push(`<ul>${items.join("")}</ul>`);
    } else if (line.trim() === "") {
      i++;
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() !== "" && !/^(#|```|\s*\||\s*[-*] )/.test(lines[i]); i++) para.push(lines[i]);
      html.push(`<p>${inline(para.join(" "))}</p>`);
    }
  }
  return html.join("\n");
}

const STYLE = `
  body { margin: 0; background: #f8f8f8; font: 14px/1.5 "Segoe UI", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #201f1e; }
  .tab { background: #fff; margin: 16px; border: 1px solid #e1dfdd; border-radius: 4px; }
  .tab > header { padding: 10px 16px; border-bottom: 1px solid #e1dfdd; font-weight: 600; color: #605e5c; font-size: 13px; }
  section { padding: 4px 20px 12px; border-bottom: 1px solid #edebe9; }
  section:last-child { border-bottom: 0; }
  h3 { font-size: 16px; margin: 12px 0 6px; }
  table { border-collapse: collapse; margin: 8px 0; }
  th, td { border: 1px solid #d2d0ce; padding: 5px 10px; text-align: left; vertical-align: top; }
  th { background: #f3f2f1; font-weight: 600; }
  code { font: 12.5px "Cascadia Mono", "DejaVu Sans Mono", "Liberation Mono", monospace; background: #f3f2f1; padding: 1px 4px; border-radius: 3px; }
  pre { background: #f3f2f1; padding: 8px 12px; border-radius: 4px; overflow: hidden; }
  pre code { background: none; padding: 0; }
  ul { margin: 6px 0; padding-left: 22px; }
  p { margin: 8px 0; }
`;

const sections = files.map((file) => `<section>${markdownToHtml(readFileSync(file, "utf8"))}</section>`).join("\n");
const page = `<!doctype html><html><head><meta charset="utf-8"><style>${STYLE}</style></head>
<body><div class="tab"><header>Extensions — job summaries</header>${sections}</div></body></html>`;

const dir = mkdtempSync(join(tmpdir(), "render-summary-"));
try {
  const htmlFile = join(dir, "summary.html");
  writeFileSync(htmlFile, page);
  const candidates = [process.env.CHROMIUM, "chromium", "chromium-browser", "google-chrome"].filter(Boolean);
  let done = false;
  for (const browser of candidates) {
    const run = spawnSync(
      browser,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
        `--user-data-dir=${join(dir, "profile")}`,
        `--window-size=${width},${height}`,
        `--screenshot=${out}`,
        `file://${htmlFile}`,
      ],
      { encoding: "utf8" },
    );
    if (run.error?.code === "ENOENT") continue;
    if (run.status !== 0) {
      console.error(`${browser} failed (${run.status}):\n${run.stderr}`);
      process.exit(1);
    }
    done = true;
    break;
  }
  if (!done) {
    console.error("No Chromium found: set CHROMIUM=/path/to/chromium (Debian: apt-get install chromium).");
    process.exit(1);
  }
  console.log(`rendered ${files.map((f) => basename(f)).join(", ")} → ${out} (${width}×${height})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
