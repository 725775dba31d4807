import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { guardTaskLibCommand, maskSecrets, neutralise } from "../../core/output";
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
      guardTaskLibCommand("##vso[task.debug]x ##vso[task.setvariable variable=a]b"),
      "##vso[task.debug]x **vso[task.setvariable variable=a]b",
    );
    assert.equal(guardTaskLibCommand("##vso[task.issue type=warning;]name ##[error]x"), "##vso[task.issue type=warning;]name **[error]x");
    assert.equal(
      guardTaskLibCommand("##vso[task.setvariable variable=v;isOutput=true;]##vso[x]"),
      "##vso[task.setvariable variable=v;isOutput=true;]##vso[x]",
    );
    assert.equal(
      guardTaskLibCommand("not a command ##vso[task.setvariable variable=a]b"),
      "not a command **vso[task.setvariable variable=a]b",
    );
  });

  it("a registered secret that is a word or a letter never touches a command's head or an output's value", () => {
    for (const known of [["true"], ["a"], ["e"], ["task"], ["vso"], ["1"]]) {
      for (const line of [
        "##vso[task.setvariable variable=changed;isOutput=true;issecret=false;]true",
        "##vso[task.settaskvariable variable=agentIp;]198.51.100.1/32",
        "##vso[task.uploadsummary]/tmp/agent/Key Vault secrets — kv-1.md",
      ]) {
        assert.equal(guardTaskLibCommand(line, known), line, `${JSON.stringify(known)}: ${line}`);
      }
      const complete = guardTaskLibCommand("##vso[task.complete result=Failed;]a vault was not found", known);
      assert.match(complete, /^##vso\[task\.complete result=Failed;\]/, `${JSON.stringify(known)}: the result stays readable`);
      const issue = guardTaskLibCommand("##vso[task.issue type=error;source=TaskInternal;]true and a cat", known);
      assert.match(issue, /^##vso\[task\.issue type=error;source=TaskInternal;\]/);
    }
    assert.equal(
      guardTaskLibCommand("##vso[task.complete result=Failed;]it is true", ["true"]),
      "##vso[task.complete result=Failed;]it is ***",
    );
  });

  it("every encoding of a registered secret that can reach a log is masked", () => {
    const password = "Winter2025!@corp (x'y*z) ~%";
    const text = [
      password,
      `http://build-agent:${encodeURIComponent(password)}@proxy.example:8080/`,
      encodeURIComponent(password).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      encodeURIComponent(password).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
      encodeURIComponent(password).replace(/%20/g, "+"),
      JSON.stringify({ password }),
      `Proxy-Authorization: Basic ${Buffer.from(`build-agent:${password}`).toString("base64")}`,
      `"proxyAuth":"${Buffer.from(`u:${password}`).toString("base64")}"`,
      Buffer.from(`us:${password}`).toString("base64"),
      `message %AZP25 escaped: ${encodeURIComponent(password).replace(/%/g, "%AZP25")}`,
    ].join("\n");
    const masked = maskSecrets(text, [password]);
    for (const line of masked.split("\n")) assert.match(line, /\*\*\*/, line);
    assert.ok(!masked.includes("Winter2025"), masked);
    assert.ok(!masked.includes(Buffer.from(password).toString("base64").slice(4, 16)), masked);
  });

  it("the password of a URL's user info is masked even when nobody registered it, as the agent masks it", () => {
    assert.equal(maskSecrets("proxy http://u:p%40ss!word@127.0.0.1:8080/ set"), "proxy http://u:***@127.0.0.1:8080/ set");
    assert.equal(maskSecrets("https://127.0.0.1:45271/tenant/oauth2/v2.0/token"), "https://127.0.0.1:45271/tenant/oauth2/v2.0/token");
    assert.equal(maskSecrets("see https://learn.microsoft.com/azure/aks/x@y"), "see https://learn.microsoft.com/azure/aks/x@y");
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
