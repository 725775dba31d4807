import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const repoRoot = resolve(__dirname, "../..");
const read = (path: string) => readFileSync(join(repoRoot, path), "utf8");

/** Every markdown file users read: the README, docs/ and its subfolders. */
function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.endsWith(".md") ? [join(dir, entry.name)] : [],
    );
  return ["README.md", ...walk("docs")];
}

/** Markdown without its fenced code blocks, where `](` is code, not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```+|~~~+)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, "");
}

/** GitHub's heading anchor: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsIn(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = anchorOf(match[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count ? `${base}-${count}` : base);
  }
  return anchors;
}

/** Relative link targets: inline `[text](target)` and reference definitions `[label]: target`. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown);
  const targets = [
    ...[...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s+(\S+)/gm)].map((m) => m[1]!),
  ];
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe("test/extension/docs", () => {
  it("the README stays a front door: under 150 lines", () => {
    const lines = read("README.md").split("\n").length;
    assert.ok(lines < 150, `README.md has ${lines} lines; move detail to a page under docs/`);
  });

  it("the README gives the two commands, and package.json has both scripts", () => {
    const readme = read("README.md");
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = block.split("\n").map((line) => line.replace(/\s+#.*$/, "").trim());
    assert.ok(commands.includes("npm ci && npm run demo"), `the README's first sh block lacks 'npm ci && npm run demo':\n${block}`);
    assert.ok(commands.includes("npm test"), `the README's first sh block lacks 'npm test':\n${block}`);
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    assert.ok(scripts.demo && scripts.test, "package.json must define the scripts demo and test");
  });

  it("the README's task table links one page under docs/tasks/ for every task", () => {
    const readme = read("README.md");
    const tasks = readdirSync(join(repoRoot, "tasks"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(repoRoot, "tasks", entry.name, "task.json")))
      .map((entry) => JSON.parse(read(`tasks/${entry.name}/task.json`)) as { name: string; version: { Major: number } });
    assert.ok(tasks.length > 0);
    for (const task of tasks) {
      const row = `[\`${task.name}@${task.version.Major}\`](docs/tasks/${task.name}.md)`;
      assert.ok(readme.includes(row), `README.md has no task table row linking ${row}`);
      assert.ok(existsSync(join(repoRoot, `docs/tasks/${task.name}.md`)), `docs/tasks/${task.name}.md is missing`);
    }
  });

  it("every relative link in the README and docs/ reaches a file, and every #anchor a heading there", () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      for (const link of relativeLinks(read(file))) {
        const [path, anchor] = link.split("#", 2) as [string, string | undefined];
        const target = path ? relative(repoRoot, resolve(repoRoot, dirname(file), decodeURI(path))) : file;
        if (!existsSync(join(repoRoot, target))) {
          broken.push(`${file}: ${link} (no file ${target})`);
          continue;
        }
        if (anchor && target.endsWith(".md") && !anchorsIn(read(target)).has(anchor)) {
          broken.push(`${file}: ${link} (no heading #${anchor} in ${target})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it("the least-privilege page's roles are valid role definitions, one per task", () => {
    const page = read("docs/least-privilege.md");
    const roles = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map(
      (m) => JSON.parse(m[1]!) as { Name: string; IsCustom: boolean; Actions: string[]; DataActions: string[]; AssignableScopes: string[] },
    );
    const taskNames = readdirSync(join(repoRoot, "tasks")).filter((name) => existsSync(join(repoRoot, "tasks", name, "task.json")));
    for (const role of roles) {
      assert.equal(role.IsCustom, true, role.Name);
      assert.ok(role.AssignableScopes.length > 0, role.Name);
      for (const action of [...role.Actions, ...role.DataActions]) {
        assert.match(action, /^Microsoft\.[A-Za-z]+(\/[A-Za-z*]+)+$/, `${role.Name}: '${action}' is not an operation name`);
      }
      assert.equal(new Set(role.Actions).size, role.Actions.length, `${role.Name} lists an action twice`);
    }
    const named = new Set(roles.map((role) => role.Name.replace(/^AKS Hardening: /, "")));
    const withoutRole = taskNames.filter((name) => !named.has(name) && !page.includes(`## ${name}@1\n\nSee [its page]`));
    assert.deepEqual(withoutRole, [], "tasks with neither a role on docs/least-privilege.md nor a pointer to their page");
  });
});
