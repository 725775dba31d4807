// Types for scripts/check-vsix.mjs, so TypeScript tests can import it.
import type AdmZip from "adm-zip";
export declare function vsixProblems(vsixPath: string): { entries: AdmZip.IZipEntry[]; problems: string[] };
