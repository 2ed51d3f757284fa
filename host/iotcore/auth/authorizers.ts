// Custom authorizers: the persisted records, their control-plane operations, and running one
// as AWS IoT Core does (token signature checked before the function runs; the function's
// answer validated before its policies are used).

import { createPublicKey, verify as verifySignature } from "node:crypto";
import { fail, type Result } from "../../../firmware/platform/failure.js";
import type { Collection } from "../registry/collection.js";
import { AwsError, notFound } from "../registry/errors.js";
import { validateAuthorizerResponse, type AuthorizerDecision } from "./authorizer-response.js";
import type { OperationInput } from "../control/server.js";

export interface AuthorizerRecord {
  authorizerName: string;
  authorizerArn: string;
  authorizerFunctionArn: string;
  tokenKeyName?: string;
  tokenSigningPublicKeys?: Record<string, string>;
  status: "ACTIVE" | "INACTIVE";
  signingDisabled: boolean;
  enableCachingForHttp: boolean;
  creationDate: number;       // epoch seconds, as the model's timestamps travel
  lastModifiedDate: number;
}

/** What a connection (or test-invoke-authorizer) presents to an authorizer. */
export interface AuthorizerInput {
  token?: string;
  signature?: string;
  serverName?: string;
  http?: { headers: Record<string, string>; queryString: string };
  mqtt?: { username?: string; password?: Uint8Array; clientId?: string };
  connectionId: string;
}

export interface AuthorizerHost {
  /** `registry.collection("authorizers")` of the stand-in. */
  records: Collection<AuthorizerRecord>;
  arn(resource: string): string;
  /** Runs a Lambda function (the stand-in's local functions) with an event. */
  functions: { invoke(functionArn: string, event: unknown): Promise<Result<unknown>> };
  nowMs(): number;
  log(line: string): void;
}

export class Authorizers {
  constructor(private readonly host: AuthorizerHost) {}

  get(name: string): AuthorizerRecord | undefined {
    return this.host.records.get(name);
  }

  /**
   * Runs the authorizer: signature check (unless signing is disabled), the function, then
   * validation. Failure codes: "authorizer-inactive", "authorizer-token-missing",
   * "authorizer-signature-invalid", "authorizer-function-failed", "authorizer-denied",
   * "authorizer-invalid-response".
   */
  async run(authorizer: AuthorizerRecord, input: AuthorizerInput): Promise<Result<AuthorizerDecision>> {
    if (authorizer.status !== "ACTIVE") {
      return fail("authorizer-inactive", `authorizer ${authorizer.authorizerName} is INACTIVE: update-authorizer --status ACTIVE`);
    }
    let signatureVerified = false;
    if (!authorizer.signingDisabled) {
      if (input.token === undefined || input.signature === undefined) {
        return fail("authorizer-token-missing", `authorizer ${authorizer.authorizerName} needs the token '${authorizer.tokenKeyName}' and x-amz-customauthorizer-signature`);
      }
      if (!tokenSignatureValid(authorizer, input.token, input.signature)) {
        return fail("authorizer-signature-invalid", `token signature does not verify with any public key of authorizer ${authorizer.authorizerName}: sign the token with RSA-SHA256 and send it base64, URL-encoded`);
      }
      signatureVerified = true;
    }
    const answer = await this.host.functions.invoke(authorizer.authorizerFunctionArn, authorizerEvent(input, signatureVerified));
    if (!answer.ok) return fail("authorizer-function-failed", `authorizer ${authorizer.authorizerName}: ${answer.failure.message}`);
    return validateAuthorizerResponse(answer.value);
  }

  /** Control-plane operations keyed by the IoT model's operation names; raise AwsError. */
  operations(): Record<string, (input: OperationInput) => Promise<unknown>> {
    return {
      CreateAuthorizer: async (input) => this.create(input),
      UpdateAuthorizer: async (input) => this.update(input),
      DescribeAuthorizer: async ({ authorizerName }) => ({ authorizerDescription: this.require(authorizerName) }),
      ListAuthorizers: async ({ status }) => ({
        authorizers: this.host.records.list().filter((a) => !status || a.status === status)
          .map(({ authorizerName, authorizerArn }) => ({ authorizerName, authorizerArn })),
      }),
      DeleteAuthorizer: async ({ authorizerName }) => {
        const a = this.require(authorizerName);
        if (a.status === "ACTIVE") throw new AwsError("DeleteConflictException", `authorizer ${authorizerName} is ACTIVE: set it INACTIVE before deleting it`);
        this.host.records.delete(authorizerName);
        return {};
      },
      TestInvokeAuthorizer: async (input) => this.testInvoke(input),
    };
  }

  private create(input: OperationInput) {
    const name = String(input.authorizerName ?? "");
    if (!/^[\w=,@-]{1,128}$/.test(name)) throw new AwsError("InvalidRequestException", `authorizerName '${name}' must be 1-128 of [A-Za-z0-9_=,@-]`);
    if (this.host.records.has(name)) throw new AwsError("ResourceAlreadyExistsException", `authorizer ${name} already exists`);
    const now = Math.floor(this.host.nowMs() / 1000);
    const record: AuthorizerRecord = {
      authorizerName: name, authorizerArn: this.host.arn(`authorizer/${name}`),
      authorizerFunctionArn: requireFunctionArn(input.authorizerFunctionArn),
      status: input.status === "INACTIVE" ? "INACTIVE" : "ACTIVE",
      signingDisabled: input.signingDisabled === true, enableCachingForHttp: input.enableCachingForHttp === true,
      creationDate: now, lastModifiedDate: now,
      ...(input.tokenKeyName ? { tokenKeyName: String(input.tokenKeyName) } : {}),
      ...(input.tokenSigningPublicKeys ? { tokenSigningPublicKeys: checkedKeys(input.tokenSigningPublicKeys) } : {}),
    };
    if (!record.signingDisabled && (!record.tokenKeyName || !record.tokenSigningPublicKeys)) {
      throw new AwsError("InvalidRequestException", "tokenKeyName and tokenSigningPublicKeys are required unless signingDisabled is true");
    }
    this.host.records.put(name, record);
    this.host.log(`authorizer ${name}: created (${record.signingDisabled ? "signing disabled" : `token key ${record.tokenKeyName}`}, function ${record.authorizerFunctionArn})`);
    return { authorizerName: name, authorizerArn: record.authorizerArn };
  }

  private update(input: OperationInput) {
    const current = this.require(input.authorizerName);
    const next: AuthorizerRecord = {
      ...current,
      ...(input.authorizerFunctionArn ? { authorizerFunctionArn: requireFunctionArn(input.authorizerFunctionArn) } : {}),
      ...(input.tokenKeyName ? { tokenKeyName: String(input.tokenKeyName) } : {}),
      ...(input.tokenSigningPublicKeys ? { tokenSigningPublicKeys: checkedKeys(input.tokenSigningPublicKeys) } : {}),
      ...(input.status === "ACTIVE" || input.status === "INACTIVE" ? { status: input.status } : {}),
      ...(typeof input.enableCachingForHttp === "boolean" ? { enableCachingForHttp: input.enableCachingForHttp } : {}),
      lastModifiedDate: Math.floor(this.host.nowMs() / 1000),
    };
    this.host.records.put(current.authorizerName, next);
    return { authorizerName: next.authorizerName, authorizerArn: next.authorizerArn };
  }

  private async testInvoke(input: OperationInput) {
    const authorizer = this.require(input.authorizerName);
    const mqtt = input.mqttContext;
    const result = await this.run(authorizer, {
      connectionId: "test-invoke-authorizer",
      ...(input.token !== undefined ? { token: String(input.token) } : {}),
      ...(input.tokenSignature !== undefined ? { signature: String(input.tokenSignature) } : {}),
      ...(input.tlsContext?.serverName ? { serverName: String(input.tlsContext.serverName) } : {}),
      ...(input.httpContext ? { http: { headers: input.httpContext.headers ?? {}, queryString: input.httpContext.queryString ?? "" } } : {}),
      ...(mqtt ? { mqtt: { username: mqtt.username, clientId: mqtt.clientId, password: mqtt.password === undefined ? undefined : toBytes(mqtt.password) } } : {}),
    });
    if (result.ok) {
      const d = result.value;
      return { isAuthenticated: true, principalId: d.principalId, policyDocuments: d.policyDocuments, refreshAfterInSeconds: d.refreshAfterSeconds, disconnectAfterInSeconds: d.disconnectAfterSeconds };
    }
    if (result.failure.code === "authorizer-denied") return { isAuthenticated: false, policyDocuments: [] };
    const fromFunction = result.failure.code === "authorizer-invalid-response" || result.failure.code === "authorizer-function-failed";
    throw new AwsError(fromFunction ? "InvalidResponseException" : "InvalidRequestException", result.failure.message);
  }

  private require(name: string): AuthorizerRecord {
    const record = this.host.records.get(String(name));
    if (!record) throw notFound(`authorizer ${name}`);
    return record;
  }
}

/** The event AWS IoT sends an authorizer function (docs/aws-iot-core.md#custom-authentication). */
export function authorizerEvent(input: AuthorizerInput, signatureVerified: boolean): Record<string, unknown> {
  const protocols = ["tls", ...(input.http ? ["http"] : []), ...(input.mqtt ? ["mqtt"] : [])];
  const mqtt = input.mqtt && {
    ...(input.mqtt.username !== undefined ? { username: input.mqtt.username } : {}),
    ...(input.mqtt.password !== undefined ? { password: Buffer.from(input.mqtt.password).toString("base64") } : {}),
    ...(input.mqtt.clientId !== undefined ? { clientId: input.mqtt.clientId } : {}),
  };
  return {
    ...(input.token !== undefined ? { token: input.token } : {}),
    signatureVerified,
    protocols,
    protocolData: {
      tls: input.serverName ? { serverName: input.serverName } : {},
      ...(input.http ? { http: input.http } : {}),
      ...(mqtt ? { mqtt } : {}),
    },
    connectionMetadata: { id: input.connectionId },
  };
}

function tokenSignatureValid(authorizer: AuthorizerRecord, token: string, signature: string): boolean {
  const signatureBytes = Buffer.from(signature, "base64");
  return Object.values(authorizer.tokenSigningPublicKeys ?? {}).some((pem) => {
    try {
      return verifySignature("sha256", Buffer.from(token, "utf8"), pem, signatureBytes);
    } catch {
      return false;
    }
  });
}

function requireFunctionArn(value: unknown): string {
  const arn = String(value ?? "");
  if (!/^arn:aws:lambda:[^:]+:\d{12}:function:[A-Za-z0-9_-]+(:[$A-Za-z0-9_-]+)?$/.test(arn)) {
    throw new AwsError("InvalidRequestException", `authorizerFunctionArn '${arn}' is not a Lambda function ARN`);
  }
  return arn;
}

/** Public keys must be PEM and at least 2048 bits, as AWS requires. */
function checkedKeys(keys: unknown): Record<string, string> {
  if (typeof keys !== "object" || keys === null) throw new AwsError("InvalidRequestException", "tokenSigningPublicKeys must be a map of key name to PEM public key");
  const out: Record<string, string> = {};
  for (const [name, pem] of Object.entries(keys as Record<string, unknown>)) {
    let bits: number | undefined;
    try {
      bits = createPublicKey(String(pem)).asymmetricKeyDetails?.modulusLength;
    } catch {
      throw new AwsError("InvalidRequestException", `tokenSigningPublicKeys.${name} is not a PEM public key`);
    }
    if (bits !== undefined && bits < 2048) throw new AwsError("InvalidRequestException", `tokenSigningPublicKeys.${name} has ${bits} bits, at least 2048 are required`);
    out[name] = String(pem);
  }
  return out;
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return Buffer.from(String(value), "base64");
}
