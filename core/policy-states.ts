import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import type { PolicyInsightsClient } from "@azure/arm-policyinsights";
import type { AzureClients } from "./azure";
import { TaskError } from "./errors";

/** The api-version of policy states that @azure/arm-policyinsights 6 speaks. */
const POLICY_STATES_API_VERSION = "2024-10-01";

/** One row of Microsoft.PolicyInsights policyStates, reduced to what the tasks read. */
export interface PolicyStateRow {
  policyAssignmentId: string;
  complianceState: string;
  timestamp?: Date;
  policyDefinitionReferenceId?: string;
}

interface PolicyStatesPage {
  value?: {
    policyAssignmentId?: string;
    complianceState?: string;
    isCompliant?: boolean;
    timestamp?: string;
    policyDefinitionReferenceId?: string;
  }[];
  "@odata.nextLink"?: string;
}

/**
 * The latest policy states at or under a resource (`policyStates/latest/queryResults`), every page.
 * Policy Insights answers at most 1,000 rows a page with an `@odata.nextLink`, and serves that link
 * only to a POST (a GET is refused with HttpMethodNotSupported: azure-sdk-for-python#17280,
 * azure-cli#20370), while @azure/arm-policyinsights follows it with a GET; so each page is POSTed
 * here, through the SDK client's pipeline (token, retries, proxy). Errors are thrown as Azure gave them.
 */
export async function queryLatestPolicyStates(clients: AzureClients, resourceId: string, filter?: string): Promise<PolicyStateRow[]> {
  const arm = new URL(clients.connection.armUrl);
  const client = await policyInsightsClient(clients);
  const first = new URL(
    `${resourceId.replace(/^\/*/, "/")}/providers/Microsoft.PolicyInsights/policyStates/latest/queryResults?api-version=${POLICY_STATES_API_VERSION}${filter ? `&$filter=${encodeURIComponent(filter)}` : ""}`,
    arm,
  );
  const rows: PolicyStateRow[] = [];
  let next: string | undefined = first.toString();
  for (let page = 1; next; page++) {
    const response = await client.sendRequest(
      createPipelineRequest({ url: next, method: "POST", headers: createHttpHeaders({ accept: "application/json" }) }),
    );
    if (response.status !== 200) {
      throw new RestError(`Policy Insights answered HTTP ${response.status}`, {
        statusCode: response.status,
        request: response.request,
        response,
      });
    }
    const body = JSON.parse(response.bodyAsText ?? "{}") as PolicyStatesPage;
    for (const state of body.value ?? []) {
      rows.push({
        policyAssignmentId: state.policyAssignmentId ?? "",
        complianceState:
          state.complianceState ?? (state.isCompliant === true ? "Compliant" : state.isCompliant === false ? "NonCompliant" : "Unknown"),
        ...(state.timestamp ? { timestamp: new Date(state.timestamp) } : {}),
        ...(state.policyDefinitionReferenceId ? { policyDefinitionReferenceId: state.policyDefinitionReferenceId } : {}),
      });
    }
    next = body["@odata.nextLink"];
    // The link comes from Azure's answer: the connection's token only ever goes to the connection's ARM host.
    if (next !== undefined && new URL(next).origin !== arm.origin) {
      throw new TaskError(
        `Policy Insights' page ${page + 1} of results points to another host than the connection's Azure Resource Manager (${arm.origin}); not followed.`,
      );
    }
  }
  return rows;
}

/** Loaded on first use: a run that reports no compliance never evaluates the Policy Insights SDK. */
async function policyInsightsClient(clients: AzureClients): Promise<PolicyInsightsClient> {
  const { PolicyInsightsClient } = await import("@azure/arm-policyinsights");
  return clients.client(
    "policyInsights",
    () => new PolicyInsightsClient(clients.credential, clients.connection.subscriptionId, clients.classicArmOptions()),
  );
}
