// Types for scripts/manifest-links.mjs, so TypeScript tests can import it.
export interface PackageJsonLinks {
  repository?: string | { type?: string; url?: string };
  bugs?: string | { url?: string };
}
export declare function repositoryWebUrl(pkg: PackageJsonLinks): string | undefined;
export declare function manifestLinks(pkg: PackageJsonLinks): {
  repository?: { type: "git"; uri: string };
  links?: { support: { uri: string } };
};
export declare function overviewWithSource(overview: string, links: ReturnType<typeof manifestLinks>): string;
