import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { maskSecrets, neutralise, neutraliseTaskLibLine } from "../../core/output";
import { markdownText } from "../../core/markdown";
import { rich, toMarkdown, toPlainText } from "../../core/report";

describe("test/unit/output", () => {
  it("no logging command survives, anywhere in a line, in any case, across invisible characters", () => {
    for (const text of [
      "##vso[task.setvariable variable=x]y",
      "text ##VSO[task.setvariable variable=x]y",
      "a\n  ##vso[task.prependpath]/tmp",
      "##\u00advso[task.setvariable variable=x]y",
      "#\u200b#vso[task.setvariable variable=x]y",
      "#\u0000#[error]forged",
      "###vso[task.complete result=Failed]",
      "x\r##[group]forged",
    ]) {
      const out = neutralise(text);
      assert.doesNotMatch(out, /##(vso)?\[/i, JSON.stringify(text));
    }
    assert.equal(neutralise("regex ^(##vso[a.b])$"), "regex ^(**vso[a.b])$", "the text stays readable");
    assert.equal(neutralise("#1 ## heading [link]"), "#1 ## heading [link]", "other uses of # and [ are left alone");
  });

  it("task-lib's commands keep their head; messages are neutralised, values are not", () => {
    assert.equal(
      neutraliseTaskLibLine("##vso[task.debug]x ##vso[task.setvariable variable=a]b"),
      "##vso[task.debug]x **vso[task.setvariable variable=a]b",
    );
    assert.equal(neutraliseTaskLibLine("##vso[task.issue type=warning;]name ##[error]x"), "##vso[task.issue type=warning;]name **[error]x");
    assert.equal(
      neutraliseTaskLibLine("##vso[task.setvariable variable=v;isOutput=true;]##vso[x]"),
      "##vso[task.setvariable variable=v;isOutput=true;]##vso[x]",
    );
    assert.equal(
      neutraliseTaskLibLine("not a command ##vso[task.setvariable variable=a]b"),
      "not a command **vso[task.setvariable variable=a]b",
    );
  });

  it("credential-shaped values are masked wherever they appear", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    assert.equal(maskSecrets(`token ${jwt} end`), "token *** end");
    assert.equal(maskSecrets("Authorization: Bearer abcdefgh12345"), "Authorization: Bearer ***");
    assert.equal(maskSecrets("Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA=="), "Proxy-Authorization: Basic ***");
    assert.equal(maskSecrets("a Basic LoadBalancer cluster"), "a Basic LoadBalancer cluster", "words stay");
  });

  it("markdown from Azure text shows as typed in the summary, and as typed in the log", () => {
    const name = "[x](https://evil.example) <img src=x onerror=alert(1)> **b** `c` a|b";
    const md = markdownText(name);
    assert.doesNotMatch(md, /<img|(?<!\\)\[x\]|(?<!\\)\*\*|(?<!\\)`|(?<!\\)\|/);
    assert.doesNotMatch(md, /https:\/\//, "no bare URL for linkify");
    const text = rich`Role of ${name} on the vault`;
    assert.equal(toMarkdown(text), `Role of ${md} on the vault`, "every plain piece of a report is escaped");
    assert.equal(toPlainText(text), `Role of ${name} on the vault`);
  });
});
