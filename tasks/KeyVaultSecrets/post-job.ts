import { AzureClients } from "../../core/azure";
import { describeFailure, TaskError } from "../../core/errors";
import { closeJobScopedAccess, holdsLeftBehind, openedByMainStep } from "../../core/job-scoped-access/post-job";
import { describeVault, vaultFirewall, type VaultRef } from "../../core/key-vault";
import { CallerPermissions } from "../../core/permissions";
import { runTask } from "../../core/run";
import { readPostJobRequest } from "./inputs";

const VAULT_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i;

// Post-job step, loaded by post.ts when the main step opened the vault's firewall for the job: runs
// after the job, whatever its result (also when it was cancelled), lets go of this job's holds and
// closes every address no running job holds any more.
void runTask(async () => {
  const opened = openedByMainStep();
  if (!opened) return;
  const request = readPostJobRequest();
  const id = VAULT_ID.exec(opened.resourceId);
  const vault: VaultRef & { id: string } = { id: opened.resourceId, resourceGroupName: id?.[2] ?? "", name: id?.[3] ?? "" };
  if (
    !id ||
    vault.name.toLowerCase() !== request.keyVaultName.toLowerCase() ||
    (request.resourceGroupName && request.resourceGroupName.toLowerCase() !== vault.resourceGroupName.toLowerCase())
  ) {
    throw new TaskError(
      `The main step opened job-scoped access on ${opened.resourceId}, not on key vault '${request.keyVaultName}'; the post-job step closes nothing it was not given (were the inputs changed between the steps?).`,
    );
  }
  const clients = new AzureClients(request.connection);
  try {
    const firewall = vaultFirewall(clients, vault);
    await closeJobScopedAccess(firewall, {
      opened,
      title: `Close job-scoped access: ${vault.name}`,
      setting: "Firewall IP rules",
      permissions: new CallerPermissions(clients),
    });
  } catch (error) {
    const addresses = opened.addresses.join(", ");
    throw new TaskError(
      `The post-job step could not close the job-scoped access: ${addresses} ${opened.addresses.length === 1 ? "stays" : "stay"} in the IP rules of ${describeVault(vault)} (${describeFailure(error).replace(/\.$/, "")}). ` +
        `${holdsLeftBehind({ error, opened, resource: "vault", laterRun: "run with includeAgentIp on this vault" })}. To close it by hand: ${opened.addresses
          .map(
            (address) =>
              `az keyvault network-rule remove --resource-group ${vault.resourceGroupName} --name ${vault.name} --ip-address ${address}`,
          )
          .join("; ")}`,
    );
  }
});
