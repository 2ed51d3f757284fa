import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, sign } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateAuthorizerResponse } from "../../host/iotcore/auth/authorizer-response.js";
import { Authorizers, type AuthorizerRecord } from "../../host/iotcore/auth/authorizers.js";
import { ConnectionAuth } from "../../host/iotcore/auth/connection-auth.js";
import { fromHttpRequest, fromMqttUsername } from "../../host/iotcore/auth/custom-request.js";
import { AccessKeyStore } from "../../host/iotcore/auth/access-keys.js";
import { DomainConfigurations } from "../../host/iotcore/services/iot/domain-configurations.js";
import { LocalFunctions } from "../../host/iotcore/services/lambda/local-functions.js";
import { Collection } from "../../host/iotcore/registry/collection.js";
import { AwsError } from "../../host/iotcore/registry/errors.js";
import type { OperationInput } from "../../host/iotcore/control/server.js";

const REGION = "ap-northeast-1";
const ACCOUNT = "123456789012";
const FUNCTIONS = new URL("./functions/", import.meta.url);

describe("custom authorizer requests", () => {
  it("reads name, URL-encoded signature and token from an MQTT username with extra parameters", () => {
    const sent = fromMqttUsername("device?x-amz-customauthorizer-name=auth1&x-amz-customauthorizer-signature=ab%2Bc%2Fd%3D%3D&my-token=t%20k&SDK=Node&Platform=linux");
    assert.equal(sent.authorizerName, "auth1");
    assert.equal(sent.signature, "ab+c/d==");
    assert.equal(sent.value("my-token"), "t k");
    assert.equal(sent.value("SDK"), "Node");
  });

  it("keeps a raw base64 plus sign in an unencoded signature", () => {
    assert.equal(fromMqttUsername("?x-amz-customauthorizer-signature=ab+c/d==").signature, "ab+c/d==");
  });

  it("finds nothing in a plain username", () => {
    const sent = fromMqttUsername("alice");
    assert.equal(sent.authorizerName, undefined);
    assert.equal(sent.value("token"), undefined);
  });

  it("prefers WebSocket headers and falls back to the upgrade query string", () => {
    const sent = fromHttpRequest(
      { "x-amz-customauthorizer-name": "fromHeader", "my-token": "headerToken" },
      "/mqtt?x-amz-customauthorizer-name=fromQuery&x-amz-customauthorizer-signature=c2ln",
    );
    assert.equal(sent.authorizerName, "fromHeader");
    assert.equal(sent.signature, "c2ln");
    assert.equal(sent.value("my-token"), "headerToken");
  });
});

describe("authorizer function answers", () => {
  const good = { isAuthenticated: true, principalId: "abc123", policyDocuments: ['{"Statement":[]}'], disconnectAfterInSeconds: 300, refreshAfterInSeconds: 86400 };
  const code = (answer: unknown) => {
    const r = validateAuthorizerResponse(answer);
    return r.ok ? "ok" : r.failure.code;
  };

  it("accepts an answer within AWS's limits, policies as strings or objects", () => {
    assert.equal(code(good), "ok");
    const r = validateAuthorizerResponse({ ...good, policyDocuments: [{ Version: "2012-10-17", Statement: [] }] });
    assert.deepEqual(r.ok && r.value.policyDocuments, ['{"Version":"2012-10-17","Statement":[]}']);
  });

  it("refuses isAuthenticated false as a denial", () => {
    assert.equal(code({ ...good, isAuthenticated: false }), "authorizer-denied");
  });

  it("refuses principal ids that are empty, too long or not alphanumeric", () => {
    for (const principalId of ["", "x".repeat(129), "has-dash", undefined]) {
      assert.equal(code({ ...good, principalId }), "authorizer-invalid-response", String(principalId));
    }
    assert.equal(code({ ...good, principalId: "x".repeat(128) }), "ok");
  });

  it("refuses more than 10 policies, a policy over 2048 characters and a non-policy", () => {
    assert.equal(code({ ...good, policyDocuments: Array(11).fill('{"Statement":[]}') }), "authorizer-invalid-response");
    assert.equal(code({ ...good, policyDocuments: Array(10).fill('{"Statement":[]}') }), "ok");
    const long = JSON.stringify({ Statement: [], pad: "x".repeat(2048) });
    assert.equal(code({ ...good, policyDocuments: [long] }), "authorizer-invalid-response");
    assert.equal(code({ ...good, policyDocuments: ["not json"] }), "authorizer-invalid-response");
  });

  it("refuses lifetimes outside 300-86400 seconds", () => {
    for (const field of ["disconnectAfterInSeconds", "refreshAfterInSeconds"]) {
      assert.equal(code({ ...good, [field]: 299 }), "authorizer-invalid-response");
      assert.equal(code({ ...good, [field]: 86401 }), "authorizer-invalid-response");
      assert.equal(code({ ...good, [field]: 1.5e3 }), "ok");
    }
  });
});

describe("running custom authorizers for a connection", () => {
  let stateDir: string;
  let functions: LocalFunctions;
  let authorizers: Authorizers;
  let domains: DomainConfigurations;
  let auth: ConnectionAuth;
  let ops: Record<string, (input: OperationInput) => Promise<unknown>>;
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  const tokenSignature = (token: string, key = keys.privateKey) => sign("sha256", Buffer.from(token), key).toString("base64");

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "iotcore-custom-auth-"));
    mkdirSync(join(stateDir, "functions"));
    for (const name of ["IoTCustomAuthorizer.mjs", "websocket_token_authorizer.mjs"]) {
      copyFileSync(new URL(name, FUNCTIONS), join(stateDir, "functions", name));
    }
    writeFileSync(join(stateDir, "functions", "record.mjs"), `export const handler = async (event) => ({ isAuthenticated: true, principalId: "rec", policyDocuments: [JSON.stringify({ Statement: [], event })], disconnectAfterInSeconds: 300, refreshAfterInSeconds: 300 });`);
    const dir = join(stateDir, "registry");
    const arn = (r: string) => `arn:aws:iot:${REGION}:${ACCOUNT}:${r}`;
    functions = new LocalFunctions({ stateDir, region: REGION, accountId: ACCOUNT });
    authorizers = new Authorizers({ records: new Collection<AuthorizerRecord>(dir, "authorizers"), arn, functions, nowMs: () => 0, log: () => {} });
    domains = new DomainConfigurations({
      configurations: new Collection(dir, "domain-configurations"), certificates: new Collection(dir, "server-certificates"),
      region: REGION, accountId: ACCOUNT, arn, nowMs: () => 0, log: () => {},
      issueServerCertificate: async () => { throw new Error("not used"); },
    });
    auth = new ConnectionAuth({ region: REGION, authorizers, domainFor: (name) => domains.forServerName(name), credentials: new AccessKeyStore(new Collection(dir, "iam"), () => 0), nowMs: () => 0, lifetimeScale: 0.001 });
    ops = authorizers.operations();
    await ops.CreateAuthorizer!({ authorizerName: "websocket_token_authorizer", authorizerFunctionArn: functions.arn("websocket_token_authorizer"), tokenKeyName: "my-token", tokenSigningPublicKeys: { "device-001": keys.publicKey } });
    await ops.CreateAuthorizer!({ authorizerName: "test", authorizerFunctionArn: functions.arn("IoTCustomAuthorizer"), signingDisabled: true });
    await ops.CreateAuthorizer!({ authorizerName: "recorder", authorizerFunctionArn: functions.arn("record"), signingDisabled: true, tokenKeyName: "tok" });
  });
  after(async () => {
    await functions.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const attempt = (username: string, extra: object = {}) => ({ clientId: "client_id", username, connectionId: "c1", serverName: "x-ats.iot.ap-northeast-1.amazonaws.com", ...extra });

  it("runs the WebSocket walkthrough's function with signatureVerified true when the token signature verifies", async () => {
    const sig = encodeURIComponent(tokenSignature("sample-token"));
    const result = await auth.authenticateCustom(attempt(`?x-amz-customauthorizer-name=websocket_token_authorizer&x-amz-customauthorizer-signature=${sig}&my-token=sample-token`));
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.ok && result.value.principalId, "CustomAuthId");
    assert.match(result.ok ? result.value.policyDocuments[0]! : "", /topicfilter\/my-topic/);
    assert.equal(result.ok && result.value.disconnectAfterMs, 84000);
  });

  it("refuses a wrong token or a signature made with another key before running the function", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } }).privateKey;
    for (const [token, sig] of [["other-token", tokenSignature("sample-token")], ["sample-token", tokenSignature("sample-token", other)]]) {
      const result = await auth.authenticateCustom(attempt(`?x-amz-customauthorizer-name=websocket_token_authorizer&x-amz-customauthorizer-signature=${encodeURIComponent(sig!)}&my-token=${token}`));
      assert.equal(!result.ok && result.failure.code, "authorizer-signature-invalid");
    }
    const missing = await auth.authenticateCustom(attempt("?x-amz-customauthorizer-name=websocket_token_authorizer&my-token=sample-token"));
    assert.equal(!missing.ok && missing.failure.code, "authorizer-token-missing");
  });

  it("sends the function AWS's event: base64 password, token, SNI, client id and connection id over MQTT", async () => {
    const result = await auth.authenticateCustom(attempt("bob?x-amz-customauthorizer-name=recorder&tok=abc", { password: new TextEncoder().encode("pa55") }));
    assert.equal(result.ok, true);
    const event = JSON.parse(result.ok ? result.value.policyDocuments[0]! : "{}").event;
    assert.deepEqual(event, {
      token: "abc", signatureVerified: false, protocols: ["tls", "mqtt"],
      protocolData: { tls: { serverName: "x-ats.iot.ap-northeast-1.amazonaws.com" }, mqtt: { username: "bob?x-amz-customauthorizer-name=recorder&tok=abc", password: "cGE1NQ==", clientId: "client_id" } },
      connectionMetadata: { id: "c1" },
    });
  });

  it("sends headers and query string over WebSocket as the custom-auth walkthrough shows", async () => {
    const upgrade = { method: "GET", url: "/mqtt?x=1", headers: { "x-amz-customauthorizer-name": "recorder", tok: "wsToken", "sec-websocket-protocol": "mqtt" } };
    const result = await auth.authenticateCustom({ clientId: "client_id", connectionId: "c2", upgrade });
    const event = JSON.parse(result.ok ? result.value.policyDocuments[0]! : "{}").event;
    assert.deepEqual(event.protocols, ["tls", "http", "mqtt"]);
    assert.deepEqual(event.protocolData.http, { headers: upgrade.headers, queryString: "?x=1" });
    assert.deepEqual(event.protocolData.mqtt, { clientId: "client_id" });
    assert.equal(event.token, "wsToken");
  });

  it("refuses an unknown authorizer and a connection naming none", async () => {
    const unknown = await auth.authenticateCustom(attempt("?x-amz-customauthorizer-name=nope"));
    assert.equal(!unknown.ok && unknown.failure.code, "authorizer-unknown");
    const none = await auth.authenticateCustom(attempt("plain"));
    assert.equal(!none.ok && none.failure.code, "authorizer-missing");
  });

  it("answers test-invoke-authorizer with the custom-domain walkthrough's function, as that walkthrough does", async () => {
    const answer = await ops.TestInvokeAuthorizer!({ authorizerName: "test", httpContext: {} }) as { isAuthenticated: boolean; principalId: string; disconnectAfterInSeconds: number; policyDocuments: string[] };
    assert.equal(answer.isAuthenticated, true);
    assert.equal(answer.principalId, "anonymous");
    assert.equal(answer.disconnectAfterInSeconds, 86400);
    assert.deepEqual(JSON.parse(answer.policyDocuments[0]).Statement[0], { Action: "iot:*", Effect: "Allow", Resource: "*" });
  });

  it("validates create-authorizer input as AWS does", async () => {
    await assert.rejects(ops.CreateAuthorizer!({ authorizerName: "test", authorizerFunctionArn: functions.arn("x"), signingDisabled: true }), (e: AwsError) => e.code === "ResourceAlreadyExistsException");
    await assert.rejects(ops.CreateAuthorizer!({ authorizerName: "nokeys", authorizerFunctionArn: functions.arn("x") }), (e: AwsError) => e.code === "InvalidRequestException");
    const small = generateKeyPairSync("rsa", { modulusLength: 1024, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } }).publicKey;
    await assert.rejects(ops.CreateAuthorizer!({ authorizerName: "small", authorizerFunctionArn: functions.arn("x"), tokenKeyName: "t", tokenSigningPublicKeys: { k: small } }), /at least 2048/);
    const described = await ops.DescribeAuthorizer!({ authorizerName: "websocket_token_authorizer" }) as { authorizerDescription: { tokenKeyName: string; authorizerArn: string } };
    assert.equal(described.authorizerDescription.tokenKeyName, "my-token");
    assert.equal(described.authorizerDescription.authorizerArn, `arn:aws:iot:${REGION}:${ACCOUNT}:authorizer/websocket_token_authorizer`);
  });

  it("refuses an INACTIVE authorizer until it is activated again", async () => {
    await ops.UpdateAuthorizer!({ authorizerName: "test", status: "INACTIVE" });
    const refused = await auth.authenticateCustom(attempt("?x-amz-customauthorizer-name=test"));
    assert.equal(!refused.ok && refused.failure.code, "authorizer-inactive");
    await ops.UpdateAuthorizer!({ authorizerName: "test", status: "ACTIVE" });
    assert.equal((await auth.authenticateCustom(attempt("?x-amz-customauthorizer-name=test"))).ok, true);
  });
});
