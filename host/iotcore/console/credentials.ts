// The access key the console signs with: an IAM-style long-term key kept in the state
// directory (`registry/access-keys.json`), made at first use, whose IoT policy lets the MQTT
// test client connect, publish and subscribe on any topic. It is an ordinary key: the same
// control-plane calls, log stream and SigV4 WebSocket work with it from any other client.

import { randomBytes } from "node:crypto";
import type { AccessKeyStore } from "../auth/access-keys.js";
import type { AccessKey } from "../service.js";

export const CONSOLE_PRINCIPAL = "console";

/** The console's IoT policy: what AWS's own console test client may do as an administrator. */
export const CONSOLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"], Resource: "*" }],
});

export interface ConsoleCredentials { accessKeyId: string; secretAccessKey: string }

/** Returns the console's key, creating it in `credentials` the first time. */
export function consoleCredentials(credentials: AccessKeyStore, random: (bytes: number) => Buffer = randomBytes): ConsoleCredentials {
  const known: AccessKey = credentials.forPrincipal(CONSOLE_PRINCIPAL) ?? credentials.add({
    accessKeyId: `AKIA${random(10).toString("hex").toUpperCase().slice(0, 16)}`,
    secretAccessKey: random(30).toString("base64").slice(0, 40),
    principal: CONSOLE_PRINCIPAL,
    policyDocuments: [CONSOLE_POLICY],
  });
  return { accessKeyId: known.accessKeyId, secretAccessKey: known.secretAccessKey };
}
