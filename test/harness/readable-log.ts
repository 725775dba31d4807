/**
 * Reads a pipeline log the way a person would and lists what would trip them up: markup left from
 * the job summary's markdown (backticks, bold, `<br>`, `_italic_` remarks, code fences or a bare
 * fence language such as "yaml"), objects printed as "[object Object]", and counts whose noun
 * disagrees with the number ("1 writes", "3 write").
 */
export function readableLogProblems(lines: readonly string[]): string[] {
  const problems: string[] = [];
  lines.forEach((line, index) => {
    const where = `line ${index + 1} '${line.trim()}'`;
    if (/`/.test(line)) problems.push(`${where}: a backtick`);
    if (/\*\*/.test(line)) problems.push(`${where}: markdown bold`);
    if (/<br\s*\/?>/i.test(line)) problems.push(`${where}: an HTML line break`);
    if (/(^|[\s(|])_[^_\s][^_]*_($|[\s).,;:|])/.test(line)) problems.push(`${where}: a markdown _remark_`);
    if (/^\s*(yaml|json|sh|bash)\s*$/.test(line)) problems.push(`${where}: a code fence's language on its own`);
    if (/\[object Object\]/.test(line)) problems.push(`${where}: an object printed as text`);
    // A count, not a task's major version ("an AzureCLI@2 step").
    for (const [, count, noun] of line.matchAll(/(?<![@\w.])(\d+) ((?:[A-Z][a-z]+ )*(?:write|request|step|secret|assignment)s?)\b/g)) {
      const pluralNoun = noun!.endsWith("s");
      if ((count === "1") === pluralNoun) problems.push(`${where}: '${count} ${noun}'`);
    }
  });
  return problems;
}
