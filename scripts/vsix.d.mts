// Types for scripts/vsix.mjs, so TypeScript tests can import it.
export declare const repoRoot: string;
export declare const distDir: string;
export declare const VSIX_SIZE_BUDGET: number;
export declare function findVsix(dir?: string): string;
export declare function listVsixEntries(vsixPath: string): string[];
export declare function extractVsix(vsixPath: string, destDir: string): string;
export declare function extractPackagedExtension(vsixPath?: string): string;
export declare function taskScript(extractedDir: string, taskName: string, target?: string): string;
export declare function packageSourcesHash(): string;
export declare function stampVsixSources(vsixPath: string): void;
export declare function currentVsix(): string | undefined;
