// Lambda, as far as IoT needs it: local functions that topic rules and custom authorizers
// invoke by ARN (`<state>/functions/<name>.mjs`). No control-plane API: functions are files.
// Each function runs with a temporary key of its own execution role, so code written for Lambda
// that builds `new IoTClient({})` reaches the stand-in's control plane signed.
import { randomBytes } from "node:crypto";
import { ADMINISTRATOR_POLICY, newAccessKeyPair } from "../../auth/access-keys.js";
import type { CoreContext, Service } from "../../service.js";
import { LocalFunctions } from "./local-functions.js";

export interface LambdaService extends Service { functions: LocalFunctions }

export function lambdaService(core: CoreContext, options: { timeoutMs?: number } = {}): LambdaService {
  // The stand-in simplifies: every function's role may do everything (AWS: the function's execution role).
  const role = core.accessKeys.add({
    ...newAccessKeyPair("ASIA"), sessionToken: randomBytes(48).toString("base64"),
    principal: `arn:aws:sts::${core.accountId}:assumed-role/local-function-role/local-functions`, policyDocuments: [ADMINISTRATOR_POLICY],
  });
  const functions = new LocalFunctions({
    stateDir: core.stateDir, region: core.region, accountId: core.accountId, log: (line) => core.log(line),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    environment: () => ({
      AWS_ENDPOINT_URL_IOT: core.controlUrl(),
      AWS_ACCESS_KEY_ID: role.accessKeyId, AWS_SECRET_ACCESS_KEY: role.secretAccessKey, AWS_SESSION_TOKEN: role.sessionToken!,
    }),
  });
  return {
    name: "lambda", functions,
    close: async () => {
      core.accessKeys.remove(role.accessKeyId);
      await functions.close();
    },
  };
}
