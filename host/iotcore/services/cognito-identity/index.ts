// Cognito identity: identity pools, unauthenticated and authenticated (Logins) identities and
// their temporary credentials.
// Devices call it at `cognito-identity.<region>.amazonaws.com` on the 443 listener; the CLI and
// SDKs reach it on the control port with --endpoint-url.
import type { CoreContext, Service } from "../../service.js";
import { IdentityPools, type CreatePoolOptions, type IdentityPoolRecord } from "./identity-pools.js";
import routes from "./routes.json" with { type: "json" };
import type { RouteTable } from "../../control/routes.js";

export interface CognitoIdentityService extends Service {
  pools: IdentityPools;
  /** `cognito-identity.<region>.amazonaws.com`, served on the 443 listener by SNI. */
  hostName: string;
  createIdentityPool(options: CreatePoolOptions): string;
}

export function cognitoIdentityService(core: CoreContext, deps: { rolePolicies(roleArn: string): string[] | undefined }): CognitoIdentityService {
  const store = core.store<IdentityPoolRecord>("identity-pools");
  const pools = new IdentityPools({
    pools: store, accessKeys: core.accessKeys, region: core.region, accountId: core.accountId,
    rolePolicies: (arn) => deps.rolePolicies(arn), nowMs: () => core.now(), log: (line) => core.log(line),
  });
  const hostName = `cognito-identity.${core.region}.amazonaws.com`;
  return {
    name: "cognito-identity", pools, hostName,
    api: { routes: routes as RouteTable, operations: pools.operations(), unsigned: ["GetId", "GetCredentialsForIdentity"], hostNames: [hostName] },
    persists: [store],
    createIdentityPool: (options) => pools.createPool(options),
  };
}
