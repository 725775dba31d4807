// Types for scripts/task-lint.mjs, so TypeScript tests can import it.
export declare const SUPPORTED_HANDLERS: string[];
export declare const PICKERS: Record<string, { dataSourceName?: string; resourceType?: string }>;
export interface VisiblePredicate {
  input: string;
  operator: string;
  value: string;
}
export declare function editorPredicate(text: string): VisiblePredicate | undefined;
export declare function parseVisibleRule(rule: string): { joiner: "&&" | "||" | undefined; predicates: VisiblePredicate[] };
export declare function lintTaskJson(task: unknown, options?: { dir?: string }): string[];
