import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import type { AzureClients } from "./azure";
import { describeFailure, InputError, TaskError } from "./errors";
import { checkResourceIdSegments, isGuid, RESOURCE_GROUP_SEGMENT, SUBSCRIPTION_SEGMENT, type SegmentRule } from "./names";

const IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities";
const RESOURCE_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^/]+)$/i;
/** User-assigned identity names: 3-128 letters, digits, '-' and '_', starting with a letter or digit. */
const IDENTITY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;
const IDENTITY_SEGMENT: SegmentRule = {
  what: "identity name",
  test: (s) => IDENTITY_NAME.test(s),
  rule: "3-128 letters, digits, '-' or '_', starting with a letter or digit",
};

/** Where a user-assigned managed identity is, as the user named it. */
export interface IdentityReference {
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
}

export interface UserAssignedIdentity extends IdentityReference {
  resourceId: string;
  clientId: string;
  principalId: string;
}

/**
 * Parses an input naming a user-assigned managed identity: its full resource ID, or its name in
 * the task's resource group (and the connection's subscription).
 */
export function parseIdentityReference(
  inputName: string,
  value: string,
  subscriptionId: string,
  resourceGroupName: string,
): IdentityReference {
  const byId = parseIdentityResourceId(inputName, value.trim());
  if (byId) return byId;
  if (value.startsWith("/")) {
    throw new InputError(
      inputName,
      `'${value}' is not the resource ID of a user-assigned managed identity (expected /subscriptions/<id>/resourceGroups/<group>/providers/${IDENTITY_TYPE}/<name>).`,
    );
  }
  if (!IDENTITY_NAME.test(value)) {
    throw new InputError(
      inputName,
      `'${value}' is neither a user-assigned managed identity's resource ID nor a valid identity name (3-128 letters, digits, '-' or '_').`,
    );
  }
  return { subscriptionId, resourceGroupName, name: value };
}

/**
 * A user-assigned identity's resource ID, each segment checked against ARM's naming rules; undefined
 * when the value is not shaped like one.
 */
export function parseIdentityResourceId(inputName: string, value: string): IdentityReference | undefined {
  const match = RESOURCE_ID.exec(value);
  if (!match) return undefined;
  const [, subscriptionId, resourceGroupName, name] = match as unknown as [string, string, string, string];
  checkResourceIdSegments(inputName, value, [
    [subscriptionId, SUBSCRIPTION_SEGMENT],
    [resourceGroupName, RESOURCE_GROUP_SEGMENT],
    [name, IDENTITY_SEGMENT],
  ]);
  return { subscriptionId, resourceGroupName, name };
}

/** Managed identities may live in another subscription than the connection's. */
export function identityClient(clients: AzureClients, subscriptionId = clients.connection.subscriptionId): ManagedServiceIdentityClient {
  return clients.client(
    `managedIdentities:${subscriptionId.toLowerCase()}`,
    () => new ManagedServiceIdentityClient(clients.credential, subscriptionId, clients.classicArmOptions()),
  );
}

export function identityResourceId(ref: IdentityReference): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroupName}/providers/${IDENTITY_TYPE}/${ref.name}`;
}

/** Reads the identity's client and principal (object) IDs. */
export async function readUserAssignedIdentity(clients: AzureClients, ref: IdentityReference): Promise<UserAssignedIdentity> {
  const describe = `user-assigned managed identity '${ref.name}' in resource group '${ref.resourceGroupName}'`;
  try {
    const identity = await identityClient(clients, ref.subscriptionId).userAssignedIdentities.get(ref.resourceGroupName, ref.name);
    if (!identity.clientId || !identity.principalId)
      throw new TaskError(`The ${describe} has no client or principal ID yet; re-run in a minute.`);
    // They go into role assignments, outputs and the YAML the summary shows: GUIDs, or not used at all.
    if (!isGuid(identity.clientId) || !isGuid(identity.principalId))
      throw new TaskError(`Azure answered for the ${describe} with a client or principal ID that is not a GUID; nothing was written.`);
    return { ...ref, resourceId: identity.id ?? identityResourceId(ref), clientId: identity.clientId, principalId: identity.principalId };
  } catch (error) {
    if (error instanceof TaskError) throw error;
    throw new TaskError(describeFailure(error, { action: `read ${describe}`, permission: `${IDENTITY_TYPE}/read` }));
  }
}
