// The Marketplace page's links, from package.json: `repository` (npm's field: "github:owner/name",
// "https://…", or { type, url }) and `bugs` (npm's field: a URL, or { url }). Nothing is linked when
// `repository` is not set, so a fork never points its users at someone else's (or a placeholder) URL.

/** The repository's web URL, or undefined when package.json names none. */
export function repositoryWebUrl(pkg) {
  const raw = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
  if (!raw?.trim()) return undefined;
  const shorthand = /^(github|gitlab|bitbucket):([\w.-]+\/[\w.-]+)$/.exec(raw.trim());
  if (shorthand) return `https://${shorthand[1]}.${shorthand[1] === "bitbucket" ? "org" : "com"}/${shorthand[2]}`;
  if (/^[\w.-]+\/[\w.-]+$/.test(raw.trim())) return `https://github.com/${raw.trim()}`;
  const url = raw
    .trim()
    .replace(/^git\+/, "")
    .replace(/^git:\/\//, "https://")
    .replace(/\.git$/, "")
    .replace(/\/+$/, "");
  if (!/^https:\/\/[^/]+\/.+/.test(url)) throw new Error(`package.json repository '${raw}' is not a URL the Marketplace can link to`);
  return url;
}

/**
 * `repository` and `links.support` for vss-extension.json. The support link is `bugs` when set, else
 * the issues page of a GitHub repository; other hosts get no guessed issues URL.
 */
export function manifestLinks(pkg) {
  const repository = repositoryWebUrl(pkg);
  if (!repository) return {};
  const bugs = typeof pkg.bugs === "string" ? pkg.bugs : pkg.bugs?.url;
  const support = bugs?.trim() || (/^https:\/\/github\.com\//.test(repository) ? `${repository}/issues` : undefined);
  return { repository: { type: "git", uri: repository }, ...(support ? { links: { support: { uri: support } } } : {}) };
}

/** The overview as shipped: as written, plus where the source and samples are when there is a repository. */
export function overviewWithSource(overview, links) {
  if (!links.repository) return overview;
  const url = links.repository.uri;
  return `${overview.trimEnd()}\n\n## Source and samples\n\nThe source, the sample pipelines (multi-stage YAML, a fleet of clusters, and a classic release definition to import) and the issue tracker: [${url}](${url}).\n`;
}
