/**
 * Runs in a child process that trusts the local Azure's certificate (NODE_EXTRA_CA_CERTS): the
 * shared core's identity and role-assignment code against the local Azure, through the real SDKs.
 * Input and output are JSON on stdin/stdout.
 */
import { readFileSync } from "node:fs";
import { AzureClients } from "../../core/azure";
import type { ServiceConnection } from "../../core/connection";
import { readUserAssignedIdentity } from "../../core/identity";
import { applyRoleGrant, readRoleGrant, type RoleGrant } from "../../core/roles";

interface Input {
  connection: ServiceConnection;
  identity: { resourceGroupName: string; name: string };
  scope: string;
}

async function main(): Promise<void> {
  const input = JSON.parse(readFileSync(0, "utf8")) as Input;
  const clients = new AzureClients(input.connection);
  const identity = await readUserAssignedIdentity(clients, { subscriptionId: input.connection.subscriptionId, ...input.identity });
  const grant: RoleGrant = {
    role: "Reader",
    scope: input.scope,
    principalId: identity.principalId,
    principalDescription: "the identity",
    principalType: "ServicePrincipal",
  };
  const first = await readRoleGrant(clients, grant);
  const created = first.empty ? "skipped" : (await applyRoleGrant(clients, first, 30_000)).outcome;
  const second = await readRoleGrant(clients, grant);
  let missing: string;
  try {
    await readUserAssignedIdentity(clients, {
      subscriptionId: input.connection.subscriptionId,
      resourceGroupName: input.identity.resourceGroupName,
      name: "id-missing",
    });
    missing = "found";
  } catch (error) {
    missing = (error as Error).message;
  }
  process.stdout.write(
    "\nRESULT " +
      JSON.stringify({
        identity,
        firstEmpty: first.empty,
        created,
        secondEmpty: second.empty,
        assignmentName: first.assignmentName,
        missing,
      }),
  );
}

void main().catch((error: unknown) => {
  process.stdout.write("\nRESULT " + JSON.stringify({ error: String((error as Error)?.stack ?? error) }));
});
