import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import type { AzureClients } from "./azure";
import { describeFailure, InputError, TaskError } from "./errors";

const IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities";
const RESOURCE_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/([^/]+)$/i;
/** User-assigned identity names: 3-128 letters, digits, '-' and '_', starting with a letter or digit. */
const IDENTITY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;

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
  const byId = RESOURCE_ID.exec(value.trim());
  if (byId) return { subscriptionId: byId[1]!, resourceGroupName: byId[2]!, name: byId[3]! };
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
    return { ...ref, resourceId: identity.id ?? identityResourceId(ref), clientId: identity.clientId, principalId: identity.principalId };
  } catch (error) {
    if (error instanceof TaskError) throw error;
    throw new TaskError(describeFailure(error, { action: `read ${describe}`, permission: `${IDENTITY_TYPE}/read` }));
  }
}
