// The data plane's hook interfaces: how a connection is described, what an authenticator
// receives and answers, and the principal whose policies then govern the connection.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { AttachedPolicies } from "../policy/evaluate.js";

/** How a connection reached the broker: which listener, and which route within it. */
export type Route = "mqtt-x509" | "mqtt-custom-auth" | "websocket";

/** The "8883", "443" and "8443" listeners, or the control port's loopback WebSocket (console/). */
export type Listener = "mqtt" | "https" | "https-mtls" | "control";

/** The listener as the log names it: AWS's port numbers for the data-plane listeners. */
export function listenerName(listener: Listener): string {
  return listener === "mqtt" ? "8883" : listener === "https" ? "443" : listener === "https-mtls" ? "8443" : "control";
}

export interface ConnectionInfo {
  listener: Listener;
  route: Route;
  alpn: string | null;
  serverName: string | null;        // SNI
  /** DER certificates the client sent, leaf first (empty without a client certificate) */
  peerCertificateChain: Buffer[];
  remoteAddress?: string;
  httpRequest?: IncomingMessage;    // the upgrade request for MQTT over WebSocket
  stream: Duplex;
}

export interface ConnectAttempt extends ConnectionInfo {
  clientId: string;
  username?: string;
  password?: Buffer;
}

export interface Principal {
  kind: "certificate" | "custom-authorizer" | "sigv4" | (string & {});
  id: string;                        // certificate id, principalId, identity id...
  /** policy documents (JSON text or parsed) governing Connect/Publish/Subscribe/Receive */
  policies: readonly (string | object)[];
  /** the policies' names where they have one (registry policies), for the log */
  policyNames?: readonly string[];
  thingName?: string;
  certificateId?: string;
  /** certificate subject fields by template name (CommonName, Country...) */
  subject?: Record<string, string>;
  /** the broker closes the connection after this long */
  disconnectAfterMs?: number;
  /** further policy variables (e.g. `iot:Connection.Thing.Attributes[...]`, Cognito ids) */
  variables?: Record<string, string>;
  /**
   * An authenticated Cognito identity: the IoT policies attached to it (AttachPolicy with the
   * identity id), read at each action. Both these and `policies` (the role's IAM policy) must
   * allow an action, as AWS IoT requires of authenticated identities.
   */
  attachedPolicies?: AttachedPolicies;
}

/** `drop` closes without CONNACK; a number is the CONNACK return code (2-5). */
export type Refusal = "drop" | 2 | 3 | 4 | 5;

export type AuthOutcome =
  | { ok: true; principal: Principal; note?: string }
  | { ok: false; refuse: Refusal; reason: string };

/** Decides who is connecting. Never rejects: failures are `{ok:false}` outcomes. */
export type Authenticator = (attempt: ConnectAttempt) => Promise<AuthOutcome>;
