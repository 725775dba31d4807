import { createHttpHeaders, RestError, type PipelineRequest } from "@azure/core-rest-pipeline";
import { describeFailure, TaskError, azureErrorDetails } from "../errors";
import { publicAddress } from "./addresses";

/**
 * The ledger of job-scoped access: one hold per address a run of this extension opened on a
 * resource's firewall for one pipeline job. It tells the post-job step, later runs and the scorecard
 * an address opened for a job (closed when no running job holds it any more) from one an
 * administrator authorized (never touched).
 *
 * Where it lives is the security decision (docs/job-scoped-access.md): a hold makes runs close or
 * keep an address, so whoever can write a hold can make them do so. A hold is therefore a resource
 * link (`Microsoft.Resources/links`, api-version 2016-09-01, the only one) on the resource itself:
 * writing one takes `Microsoft.Resources/links/write` at the resource, which Tag Contributor
 * (`Microsoft.Resources/tags/*`, `Microsoft.Resources/deployments/*`, reads) and Reader do not have.
 * A tag is data anyone allowed to write tags can write: the tag earlier versions kept their holds in
 * (`aks-hardening-job-scoped-ips`) is read only to name its entries in a warning, never believed.
 * Links are not copied anywhere (tags on a cluster are copied to its node resource group), are
 * listed at their source (`ResourceLinks_ListAtSourceScope` with `atScope()`), and one resource
 * takes at most 50 ("Each resource can be linked to 50 other resources", links.json 2016-09-01).
 *
 * Each hold is one link, so concurrent jobs never rewrite each other's: its name is the agent and the
 * address (`aks-hardening-job-<agent>-203-0-113-10`; an agent runs one job at a time), its target is
 * the resource itself, its notes say what it is and carry the hold:
 * `… 203.0.113.10/32 agent=3f9a1c2b job=5d1e0a77 until=2026-11-29T21:05Z [released]`.
 */

export const LINKS_API_VERSION = "2016-09-01";
/** Spec description of links.json 2016-09-01. */
export const MAX_LINKS_PER_RESOURCE = 50;
/** The tag earlier versions recorded holds in; read only to warn about it. */
export const LEGACY_HOLDS_TAG = "aks-hardening-job-scoped-ips";
export const HOLD_LINK_PREFIX = "aks-hardening-job-";
/** A job with no timeout (0) holds its address this long at most; no hold may claim longer. */
export const LONGEST_HOLD_MINUTES = 7 * 24 * 60 + 5;

export const LINK_PERMISSIONS = {
  read: "Microsoft.Resources/links/read",
  write: "Microsoft.Resources/links/write",
  delete: "Microsoft.Resources/links/delete",
} as const;

/** One address opened for one job. */
export interface Hold {
  /** `a.b.c.d/32`. */
  address: string;
  /** 8 hex digits naming the agent (core/job-scoped-access/job.ts). */
  agent: string;
  /** 8 hex digits naming the job. */
  job: string;
  /** When the holding job has ended at the latest. */
  until: Date;
  /** The holding job's post-job step has let go of it (it may still be listed: closing it is under way or failed). */
  released: boolean;
}

/** A ledger entry that is not believed, and why; named in a warning, otherwise ignored. */
export interface UntrustedHold {
  /** Where it was found: "link '<name>'" or "tag 'aks-hardening-job-scoped-ips'". */
  where: string;
  text: string;
  reason: string;
}

export interface Ledger {
  holds: Hold[];
  untrusted: UntrustedHold[];
}

/** A link as ARM returns it (ResourceLink). */
export interface ResourceLinkBody {
  id?: string;
  name?: string;
  properties?: { sourceId?: string; targetId?: string; notes?: string };
}

export function holdLinkName(hold: Pick<Hold, "agent" | "address">): string {
  return `${HOLD_LINK_PREFIX}${hold.agent}-${hold.address.replace(/\/32$/, "").replace(/\./g, "-")}`;
}

export function holdNotes(hold: Hold): string {
  return (
    `Job-scoped access opened by AKS Hardening Tasks for one pipeline job and closed by its post-job step: ` +
    `${hold.address} agent=${hold.agent} job=${hold.job} until=${formatUntil(hold.until)}${hold.released ? " released" : ""}`
  );
}

const LINK_NAME = /^aks-hardening-job-([0-9a-f]{8})-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$/i;
const NOTES = /(\S+) agent=([0-9a-f]{8}) job=([0-9a-f]{8}) until=(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z)( released)?$/;

/**
 * The holds on a resource, from its links and (to warn about them) its tags. Links are written only
 * by principals with `Microsoft.Resources/links/write` on the resource; even so a hold is believed
 * only in the shape this extension writes: one public address, for no longer than a job can run.
 * Links of other names are someone else's and are not looked at.
 */
export function readLedger(p: {
  resourceId: string;
  links: readonly ResourceLinkBody[];
  tags?: Record<string, string> | undefined;
  now: Date;
}): Ledger {
  const holds: Hold[] = [];
  const untrusted: UntrustedHold[] = [];
  for (const link of p.links) {
    const name = link.name ?? link.id?.split("/").pop() ?? "";
    if (!name.toLowerCase().startsWith(HOLD_LINK_PREFIX)) continue;
    const notes = link.properties?.notes ?? "";
    const shown = notes.length > 160 ? `${notes.slice(0, 160)}…` : notes;
    const distrust = (reason: string) => untrusted.push({ where: `link '${name}'`, text: shown, reason });
    const named = LINK_NAME.exec(name);
    const noted = NOTES.exec(notes);
    if (!named || !noted) {
      distrust("it is not a hold in the form this extension writes");
      continue;
    }
    const source = link.properties?.sourceId ?? link.id?.replace(/\/providers\/Microsoft\.Resources\/links\/[^/]+$/i, "");
    if (source !== undefined && source.toLowerCase() !== p.resourceId.toLowerCase()) {
      distrust("it belongs to another resource");
      continue;
    }
    const address = publicAddress(noted[1]!.replace(/\/32$/, ""));
    if (!address || !noted[1]!.endsWith("/32")) {
      distrust(`it holds '${noted[1]}', and this extension only ever opens one public IPv4 address (a /32)`);
      continue;
    }
    if (named[1]!.toLowerCase() !== noted[2] || named.slice(2, 6).join(".") !== address.replace(/\/32$/, "")) {
      distrust("its name and its notes name different agents or addresses");
      continue;
    }
    const until = new Date(noted[4]!.replace("Z", ":00Z"));
    if (Number.isNaN(until.getTime())) {
      distrust(`its end '${noted[4]}' is not a time`);
      continue;
    }
    if (until.getTime() - p.now.getTime() > (LONGEST_HOLD_MINUTES + 1) * 60_000) {
      distrust(`it claims to hold until ${noted[4]}, longer than any job can run (7 days)`);
      continue;
    }
    holds.push({ address, agent: noted[2]!, job: noted[3]!, until, released: noted[5] !== undefined });
  }
  const tag = Object.entries(p.tags ?? {}).find(([key]) => key.toLowerCase() === LEGACY_HOLDS_TAG)?.[1];
  for (const text of (tag ?? "").split(";").map((part) => part.trim())) {
    if (!text) continue;
    untrusted.push({
      where: `tag '${LEGACY_HOLDS_TAG}'`,
      text: text.length > 120 ? `${text.slice(0, 120)}…` : text,
      reason: "a tag proves nothing: anyone allowed to write tags (Tag Contributor) can write it",
    });
  }
  return { holds, untrusted };
}

/** The warning that names one untrusted hold. */
export function untrustedWarning(hold: UntrustedHold, target: string): string {
  return `Ignored an untrusted job-scoped hold on ${target}: ${hold.where} says '${hold.text}', but ${hold.reason}. No address is opened, kept or closed because of it; remove it if no one needs it.`;
}

/** Minute precision, rounded up, so a hold never ends before its job could. */
export function formatUntil(until: Date): string {
  const minute = new Date(Math.ceil(until.getTime() / 60_000) * 60_000);
  return `${minute.toISOString().slice(0, 16)}Z`;
}

interface ArmResponse {
  status: string;
  body: unknown;
  headers: Record<string, string>;
  request: PipelineRequest;
}
interface ArmRequestOptions {
  queryParameters?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}
/** The shape every modular Azure SDK client context has (`@azure-rest/core-client`'s Client): ARM with the connection's token, retries and proxy. */
export interface ArmPathClient {
  pathUnchecked(path: string): {
    get(options?: ArmRequestOptions): PromiseLike<ArmResponse>;
    put(options?: ArmRequestOptions): PromiseLike<ArmResponse>;
    delete(options?: ArmRequestOptions): PromiseLike<ArmResponse>;
  };
}

/** Reads and writes the holds of one resource through ARM. */
export class HoldLinks {
  constructor(
    private readonly arm: ArmPathClient,
    readonly resourceId: string,
    /** What errors call the resource, e.g. "managed cluster 'aks-1' in resource group 'rg'". */
    private readonly target: string,
  ) {}

  /** Every link at the resource (not below it), all pages. */
  async list(): Promise<ResourceLinkBody[]> {
    const links: ResourceLinkBody[] = [];
    let path: string | undefined = `${this.resourceId}/providers/Microsoft.Resources/links`;
    let query: Record<string, string> | undefined = { "api-version": LINKS_API_VERSION, $filter: "atScope()" };
    let origin: string | undefined;
    while (path) {
      const response = await this.send(
        "get",
        path,
        { ...(query ? { queryParameters: query } : {}) },
        {
          action: `list the job-scoped access holds (resource links) of ${this.target}`,
          permission: LINK_PERMISSIONS.read,
        },
      );
      origin ??= new URL(response.request.url).origin;
      const page = (response.body ?? {}) as { value?: ResourceLinkBody[]; nextLink?: string };
      links.push(...(page.value ?? []));
      path = page.nextLink ?? undefined;
      query = undefined;
      // The link comes from Azure's answer: the connection's token only ever goes to its own ARM host.
      if (path && new URL(path).origin !== origin)
        throw new TaskError(`The list of resource links of ${this.target} points to another host for its next page; not followed.`);
    }
    return links;
  }

  /** Creates or updates the hold's link. */
  async write(hold: Hold): Promise<void> {
    await this.send(
      "put",
      this.linkId(hold),
      {
        queryParameters: { "api-version": LINKS_API_VERSION },
        body: { properties: { targetId: this.resourceId, notes: holdNotes(hold) } },
      },
      { action: `record the job-scoped access of ${hold.address} on ${this.target} (a resource link)`, permission: LINK_PERMISSIONS.write },
    );
  }

  /** Deletes the hold's link; one already gone is fine. */
  async remove(hold: Pick<Hold, "agent" | "address">): Promise<void> {
    await this.send(
      "delete",
      this.linkId(hold),
      { queryParameters: { "api-version": LINKS_API_VERSION } },
      {
        action: `remove the job-scoped access record of ${hold.address} on ${this.target} (a resource link)`,
        permission: LINK_PERMISSIONS.delete,
      },
      [404],
    );
  }

  private linkId(hold: Pick<Hold, "agent" | "address">): string {
    return `${this.resourceId}/providers/Microsoft.Resources/links/${holdLinkName(hold)}`;
  }

  private async send(
    method: "get" | "put" | "delete",
    path: string,
    options: ArmRequestOptions,
    context: { action: string; permission: string },
    alsoFine: number[] = [],
  ): Promise<ArmResponse> {
    let response: ArmResponse;
    try {
      response = await this.arm.pathUnchecked(path)[method](options);
    } catch (error) {
      throw new TaskError(describeFailure(error, context), { cause: error });
    }
    const status = Number(response.status);
    if ((status >= 200 && status < 300) || alsoFine.includes(status)) return response;
    const error = new RestError(`ARM answered HTTP ${status}`, {
      statusCode: status,
      request: response.request,
      response: {
        status,
        headers: createHttpHeaders(response.headers),
        request: response.request,
        bodyAsText: typeof response.body === "string" ? response.body : JSON.stringify(response.body ?? {}),
      },
    });
    throw new TaskError(describeFailure(error, context), { cause: error });
  }
}

/** Whether a failure was ARM refusing the connection a permission (403), as opposed to anything else. */
export function isRefused(error: unknown): boolean {
  const cause = error instanceof TaskError ? error.cause : error;
  const { status, code } = azureErrorDetails(cause);
  return status === 403 || code === "AuthorizationFailed";
}
