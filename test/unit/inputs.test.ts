import { describe, it } from "mocha";
import assert from "node:assert/strict";
import { inputLines, readListEntries, unexpandedMacroProblem, wholeUnexpandedMacro } from "../../core/inputs";

describe("test/unit/inputs", () => {
  it("list inputs: '#' lines and trailing comments are dropped, entries keep their line", () => {
    assert.deepEqual(readListEntries("# admins\n203.0.113.0/24, 198.51.100.7 # office, vpn\n\n  #10.0.0.0/8\nkube-system;x#y"), [
      { text: "203.0.113.0/24", line: 2 },
      { text: "198.51.100.7", line: 2 },
      { text: "kube-system", line: 5 },
      { text: "x#y", line: 5 },
    ]);
  });

  it("lines without trailing comments (secrets): only whole '#' lines are comments, a later '#' is content", () => {
    assert.deepEqual(inputLines("# db\ndb-password=abc #123\n", { trailingComments: false }), [{ text: "db-password=abc #123", line: 2 }]);
  });

  it("an unexpanded step output points to the step, the same job and stageDependencies; a variable to where variables are defined", () => {
    const output = unexpandedMacroProblem("$(identity.principalId)");
    assert.match(output, /^'\$\(identity\.principalId\)' was not expanded/);
    assert.match(output, /output of a step named 'identity' \(name: identity\), and does that step run earlier in the same job\?/);
    assert.match(output, /\$\[ stageDependencies\.<stage>\.<job>\.outputs\['identity\.principalId'\] \]/);
    const variable = unexpandedMacroProblem("$(adminRanges)");
    assert.match(
      variable,
      /no variable 'adminRanges' is defined where this step runs\. Is it defined \(pipeline, stage or job variables, or a linked variable group\)/,
    );
    assert.doesNotMatch(output + variable, /##vso\[/, "no logging command in the text");
    assert.equal(wholeUnexpandedMacro(" $(dbUrl) "), "$(dbUrl)");
    assert.equal(wholeUnexpandedMacro("pre-$(x)"), undefined, "a value that merely holds a macro is a value");
  });
});
