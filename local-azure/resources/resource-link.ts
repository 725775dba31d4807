import { ArmError } from "../http";
import type { ArmResource } from "./arm-resource";

export const RESOURCE_LINK_TYPE = "Microsoft.Resources/links";

/**
 * Resource links (Microsoft.Resources, api-version 2016-09-01, links.json): a link lives on its
 * source resource (`{source}/providers/Microsoft.Resources/links/{name}`) and names a target and notes.
 * "All the linked resources must belong to the same subscription. Each resource can be linked to 50
 * other resources" (the spec's description); a link name has up to 64 characters and none of `<`,
 * `>`, `%`, `&`, `?` or a control character (Resource Manager template docs for links). The error
 * codes of these refusals are not documented; they are sent as 400 BadRequest.
 */
export const MAX_LINKS_PER_SOURCE = 50;

export function resourceLinkId(sourceId: string, name: string): string {
  return `${sourceId}/providers/${RESOURCE_LINK_TYPE}/${name}`;
}

export function checkLinkName(name: string): void {
  if (name.length === 0 || name.length > 64 || /[<>%&?\u0000-\u001f]/.test(name))
    throw new ArmError(
      400,
      "BadRequest",
      `The link name '${name}' is invalid: use up to 64 characters without <, >, %, &, ? or control characters.`,
    );
}

/** A link as the store keeps it (its type lets the store list links). */
export function resourceLink(p: { sourceId: string; name: string; targetId: string; notes?: string }): ArmResource {
  return {
    id: resourceLinkId(p.sourceId, p.name),
    name: p.name,
    type: RESOURCE_LINK_TYPE,
    properties: { sourceId: p.sourceId, targetId: p.targetId, ...(p.notes !== undefined ? { notes: p.notes } : {}) },
  };
}

/**
 * A link as Azure answers it: ResourceLink has `id`, `name` and `properties` (sourceId, targetId,
 * notes) and no `type` (links.json, 2016-09-01, azure-rest-api-specs@05ab3666).
 */
export function linkAnswer(link: ArmResource): Omit<ArmResource, "type"> {
  const { type: _type, ...answer } = link;
  return answer;
}
