// HTTPS publish: the iot-data Publish operation (`POST /topics/<topic>?qos=0|1&retain=...`) in
// the four HTTPS rows of AWS IoT Core's protocol table (docs/https-publish.md): an X.509 client
// certificate on the "8443" listener or on "443" with ALPN x-amzn-http-ca; on "443" without
// that ALPN, SigV4 (the `Authorization` header as `aws iot-data publish` signs it, or a
// presigned query string; signing name `iotdata`) or a custom authorizer (name, signature and
// token in headers or in the query string). The caller's policies decide iot:Publish on the
// topic with the quotas of an MQTT publish; the message then goes through the broker exactly as
// an MQTT publish does (subscribers, topic rules, the shadow service, retained messages).
// HTTPS has no client id (AWS: "clientId ... is not available when using HTTPS"), so policy
// variables that come from it (iot:ClientId, iot:Connection.Thing.*) resolve to nothing.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ConnectionAuth } from "../../auth/connection-auth.js";
import { verifyPresignedUrl, verifySignedRequest } from "../../auth/sigv4.js";
import type { CallerInfo, OperationHandler, OperationInput } from "../../control/server.js";
import { ALPN } from "../../dataplane/listeners.js";
import { LIMITS, topicProblem } from "../../dataplane/quotas.js";
import { listenerName, type Authenticator, type ConnectionInfo } from "../../dataplane/types.js";
import { evaluateWithAttached, type AttachedPolicies, type PolicyVariables } from "../../policy/evaluate.js";
import { connectionVariables, resourceArn, type ResourceScope } from "../../policy/resources.js";
import type { LogWriter } from "../../log.js";
import { AwsError } from "../../registry/errors.js";
import type { AccessKeys } from "../../service.js";

/** The signing name of the iot-data service model (`aws iot-data publish` signs with it). */
export const IOT_DATA_SIGNING_NAME = "iotdata";
const TOPIC_PATH = /^\/topics\/([^?]*)(\?.*)?$/;

export interface HttpsPublishOptions {
  scope: ResourceScope;
  /** The client-certificate authenticator of the MQTT listeners (registry, JITP/JITR). */
  certificates: Authenticator;
  /** Custom authorizers (and their domains' defaults). */
  connections: ConnectionAuth;
  /** The IAM access keys SigV4 requests are checked against, with their IoT policies. */
  credentials: Pick<AccessKeys, "lookup">;
  /** The IoT policies attached to a target (an authenticated Cognito identity's id). */
  attachedTo(target: string): ReturnType<AttachedPolicies>;
  /** Publishes as the broker does for an authorized MQTT publish. */
  publish(topic: string, payload: Buffer, qos: 0 | 1, retain: boolean): Promise<void>;
  now(): number;
  log: LogWriter;
}

interface HttpsPrincipal {
  kind: string;
  id: string;
  policies: readonly (string | object)[];
  variables: PolicyVariables;
  /** An authenticated Cognito identity: the IoT policies attached to it must allow too. */
  attachedPolicies?: AttachedPolicies;
}

interface Arrival { info: ConnectionInfo; url: string }

export class HttpsPublishService {
  private readonly arrivals = new WeakMap<IncomingMessage, Arrival>();

  constructor(private readonly options: HttpsPublishOptions) {}

  /**
   * Claims a request for `/topics/...` (false for any other path): keeps its connection and its
   * URL as sent (for the signature), and makes the topic one path segment for the router
   * (clients send a topic's slashes raw or as %2F).
   */
  claim(request: IncomingMessage, info: ConnectionInfo): boolean {
    const url = request.url ?? "";
    const match = TOPIC_PATH.exec(url);
    if (!match) return false;
    this.arrivals.set(request, { info, url });
    request.url = `/topics/${match[1].split("/").join("%2F")}${match[2] ?? ""}`;
    return true;
  }

  /** The iot-data operation this service answers, for registerSelfAuthenticating. */
  operations(): Record<string, OperationHandler> {
    return { Publish: (input, caller) => this.publish(input, caller) };
  }

  private async publish(input: OperationInput, caller: CallerInfo): Promise<{ message: string; traceId: string }> {
    const arrival = caller.request && this.arrivals.get(caller.request);
    if (!arrival || !caller.request) throw new AwsError("ForbiddenException", "Forbidden");
    const topic = String(input.topic);
    const where = `via ${listenerName(arrival.info.listener)}${arrival.info.alpn ? ` alpn=${arrival.info.alpn}` : ""}`;
    const refuse = (code: string, message: string, reason: string): never => {
      this.options.log(`https publish refused ${where} topic ${topic}: ${reason}`,
        { event: "https-publish", outcome: "refused", listener: listenerName(arrival.info.listener), alpn: arrival.info.alpn, topic, status: code, reason });
      throw new AwsError(code, message);
    };
    const authenticated = await this.authenticate(caller.request, arrival, caller.body ?? Buffer.alloc(0));
    if (!authenticated.ok) return refuse(authenticated.code, authenticated.message, authenticated.reason);
    const principal = authenticated.principal;
    const who = `${principal.kind} ${principal.id}`;
    const qos = input.qos ?? 0;
    if (qos !== 0 && qos !== 1) return refuse("InvalidRequestException", `qos must be 0 or 1, not ${String(qos)}`, `${who}: qos ${String(qos)}`);
    const problem = topicProblem(topic, "publish");
    if (problem) return refuse("InvalidRequestException", `Invalid topic: ${problem}`, `${who}: ${problem}`);
    const payload: Buffer = input.payload ?? Buffer.alloc(0);
    // AWS: the payload limit (128 KB) applies to HTTPS publishes as to MQTT ones; over it, 413.
    if (payload.length > LIMITS.payloadBytes) {
      return refuse("RequestEntityTooLargeException", `Payload exceeds the maximum size of ${LIMITS.payloadBytes} bytes`, `${who}: payload of ${payload.length} bytes`);
    }
    const arn = resourceArn(this.options.scope, "iot:Publish", topic);
    const verdict = evaluateWithAttached(principal.policies, undefined, principal.attachedPolicies, principal.id, "iot:Publish", arn, principal.variables);
    if (verdict.decision !== "allow") return refuse("ForbiddenException", "Forbidden", `${who}: iot:Publish on ${arn}: ${verdict.decision}${verdict.decision === "default-deny" && verdict.by ? ` (${verdict.by})` : ""}`);
    await this.options.publish(topic, payload, qos, input.retain === true);
    this.options.log(`https publish allowed ${where} topic ${topic} qos ${qos}${input.retain === true ? " retained" : ""}: ${who}; iot:Publish allowed by ${verdict.by}`,
      { event: "https-publish", outcome: "allowed", listener: listenerName(arrival.info.listener), alpn: arrival.info.alpn, topic, qos, principal: who, by: verdict.by });
    return { message: "OK", traceId: randomUUID() };
  }

  /** Who sent the request, by the listener and ALPN it arrived on; never throws. */
  private async authenticate(request: IncomingMessage, arrival: Arrival, body: Buffer):
  Promise<{ ok: true; principal: HttpsPrincipal } | { ok: false; code: string; message: string; reason: string }> {
    const { info, url } = arrival;
    const forbidden = (reason: string) => ({ ok: false as const, code: "ForbiddenException", message: "Forbidden", reason });
    if (info.listener === "https-mtls" || info.alpn === ALPN.httpCertificate) {
      const outcome = await this.options.certificates({ ...info, clientId: "" });
      if (!outcome.ok) return forbidden(outcome.reason);
      const p = outcome.principal;
      const variables = withoutClientId(connectionVariables({ clientId: "", certificateId: p.certificateId, subject: p.subject }));
      return { ok: true, principal: { kind: "certificate", id: p.id, policies: p.policies, variables } };
    }
    if (request.headers.authorization !== undefined) return this.authenticateSignedHeader(request, url, body);
    if (/[?&]X-Amz-Algorithm=/i.test(url)) {
      const verified = await verifyPresignedUrl({ method: request.method ?? "POST", url, headers: request.headers, body }, {
        region: this.options.scope.region, service: IOT_DATA_SIGNING_NAME, nowMs: this.options.now(),
        lookup: (id) => this.options.credentials.lookup(id),
      });
      if (!verified.ok) return forbidden(`${verified.failure.code}: ${verified.failure.message}`);
      return { ok: true, principal: this.iamPrincipal(verified.value) };
    }
    const custom = await this.options.connections.authenticateCustom({
      connectionId: randomUUID(), ...(info.serverName ? { serverName: info.serverName } : {}),
      upgrade: { method: request.method ?? "POST", url, headers: request.headers },
    });
    if (!custom.ok) return forbidden(`no certificate (use 8443 or ALPN ${ALPN.httpCertificate}), no SigV4 signature, and custom authentication failed: ${custom.failure.code}: ${custom.failure.message}`);
    return { ok: true, principal: { kind: "custom-authorizer", id: custom.value.principalId, policies: custom.value.policyDocuments, variables: {} } };
  }

  /** `Authorization: AWS4-HMAC-SHA256 ...` checked against the stand-in's IAM keys. */
  private async authenticateSignedHeader(request: IncomingMessage, url: string, body: Buffer) {
    const q = url.indexOf("?");
    const query = [...new URLSearchParams(q < 0 ? "" : url.slice(q + 1))];
    const verdict = await verifySignedRequest(
      { method: request.method ?? "POST", rawPath: q < 0 ? url : url.slice(0, q), query, headers: request.headers, body },
      { regions: [this.options.scope.region], services: [IOT_DATA_SIGNING_NAME], nowMs: this.options.now(), lookup: (id) => this.options.credentials.lookup(id) });
    if (!verdict.ok) {
      // AWS's HTTPS publish answers an unknown or expired key 403 Forbidden, a bad signature InvalidSignatureException.
      const code = verdict.failure.code === "InvalidSignatureException" ? "InvalidSignatureException" : "ForbiddenException";
      return { ok: false as const, code, message: verdict.failure.message, reason: `sigv4: ${verdict.failure.reason}` };
    }
    return { ok: true as const, principal: this.iamPrincipal(verdict.value.key) };
  }

  private iamPrincipal(key: { principal: string; policyDocuments: string[]; iotPolicyTarget?: string }): HttpsPrincipal {
    const principal = iamPrincipal(key.principal, key.policyDocuments);
    const target = key.iotPolicyTarget;
    return target === undefined ? principal : { ...principal, attachedPolicies: () => this.options.attachedTo(target) };
  }
}

function iamPrincipal(principal: string, policies: string[]): HttpsPrincipal {
  // A Cognito identity's policies may name it as cognito-identity.amazonaws.com:sub.
  const variables: PolicyVariables = /^[\w-]+:[0-9a-f-]{36}$/.test(principal) ? { "cognito-identity.amazonaws.com:sub": principal } : {};
  return { kind: "sigv4", id: principal, policies, variables };
}

function withoutClientId(variables: PolicyVariables): PolicyVariables {
  const { "iot:ClientId": _clientId, "iot:Connection.Thing.ThingName": _thing, "iot:Connection.Thing.IsAttached": _attached, ...rest } = variables;
  return rest;
}
