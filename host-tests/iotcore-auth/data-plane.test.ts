import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import * as tls from "node:tls";
import { Sha256 } from "@aws-crypto/sha256-js";
import { CognitoIdentityClient, CreateIdentityPoolCommand, GetCredentialsForIdentityCommand, GetIdCommand, SetIdentityPoolRolesCommand } from "@aws-sdk/client-cognito-identity";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { IoTDataPlaneClient, PublishCommand } from "@aws-sdk/client-iot-data-plane";
import { AttachPolicyCommand, CreateAuthorizerCommand, CreateDomainConfigurationCommand, CreatePolicyCommand, IoTClient, TestInvokeAuthorizerCommand, UpdateDomainConfigurationCommand } from "@aws-sdk/client-iot";
import { SignatureV4 } from "@smithy/signature-v4";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { IotCore } from "../../host/iotcore/index.js";
import { closed, endClient, iotClient, run, startCore, tempDir } from "../iotcore/helpers.js";

// The WebSocket custom-auth walkthrough (docs/aws-iot-core.md) runs in ap-northeast-1; its policy
// names that region.
const REGION = "ap-northeast-1";
const CUSTOM_DOMAIN = "iot.oxoxo.me";
const TOPIC_POLICY = (topic: string) => JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Action: "iot:Connect", Resource: "*" },
    { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: `arn:aws:iot:${REGION}:*:topic/${topic}` },
    { Effect: "Allow", Action: "iot:Subscribe", Resource: `arn:aws:iot:${REGION}:*:topicfilter/${topic}` },
  ],
});

interface Outcome { client: MqttClient; connected: boolean; error?: Error & { code?: unknown } }

/** Settles within 5 s: publishes and subscriptions must not hang a test when the broker drops. */
function bounded<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error("no answer within 5 s")), 5000))]);
}

/** SUBACK return codes; a refused filter (0x80) is a value, not an exception. */
async function subscribe(client: MqttClient, filter: string): Promise<number | undefined> {
  try {
    return (await bounded(client.subscribeAsync(filter, { qos: 1 })))[0]?.qos;
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted) return granted[0];
    throw error;
  }
}

/** Connects mqtt.js and resolves on CONNACK, error or close (bounded by 5 s). */
function connect(options: IClientOptions): Promise<Outcome> {
  const client = mqtt.connect({ reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, clean: true, ...options });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ client, connected: false }), 5000);
    const done = (o: Omit<Outcome, "client">) => { clearTimeout(timer); resolve({ client, ...o }); };
    client.once("connect", () => done({ connected: true }));
    client.once("error", (error) => done({ connected: false, error }));
    client.once("close", () => done({ connected: false }));
  });
}

/** The HTTP status a WebSocket upgrade to `path` (subprotocol mqtt) is answered with: 101 when accepted. */
function upgradeStatus(core: IotCore, path: string): Promise<number> {
  return bounded(new Promise<number>((resolve, reject) => {
    const request = httpsRequest({
      host: "127.0.0.1", port: core.ports.https, path, servername: core.endpoint, ca: core.serverCaPem,
      headers: { host: core.endpoint, connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64"), "sec-websocket-protocol": "mqtt" },
    });
    request.on("response", (response) => { response.resume(); resolve(response.statusCode ?? 0); });
    request.on("upgrade", (_response, socket) => { socket.destroy(); resolve(101); });
    request.on("error", reject);
    request.end();
  }));
}

describe("connections without a client certificate (custom auth, SigV4 WebSocket, domains, Cognito)", () => {
  const dir = tempDir("auth-data-plane");
  let core: IotCore & { lines: string[] };
  let iot: IoTClient;
  let clockOffsetMs = 0;
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  const signature = (token: string) => sign("sha256", Buffer.from(token), keys.privateKey).toString("base64");
  const opened: MqttClient[] = [];
  const caFile = () => join(dir.path, "server-ca.pem");

  const ws = (query: string, o: IClientOptions & { headers?: Record<string, string>; servername?: string } = {}) => {
    const { headers, servername, ...rest } = o;
    return connect({
      protocol: "wss", hostname: "127.0.0.1", port: core.ports.https, path: `/mqtt${query}`, ca: core.serverCaPem,
      // ws hands `servername` to tls.connect: the SNI a device sends.
      wsOptions: { headers: { host: servername ?? core.endpoint, ...headers }, servername: servername ?? core.endpoint } as IClientOptions["wsOptions"],
      clientId: "client_id", ...rest,
    }).then((o) => { opened.push(o.client); return o; });
  };

  const presign = async (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, o: { region?: string; signingDate?: Date; expiresIn?: number } = {}) => {
    const signer = new SignatureV4({ service: "iotdevicegateway", region: o.region ?? REGION, sha256: Sha256, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey } });
    const signed = await signer.presign({ method: "GET", protocol: "wss:", hostname: core.endpoint, path: "/mqtt", headers: { host: core.endpoint }, query: {} },
      { signingDate: o.signingDate ?? new Date(Date.now() + clockOffsetMs), expiresIn: o.expiresIn ?? 300 });
    let query = "?" + Object.entries(signed.query ?? {}).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join("&");
    if (credentials.sessionToken) query += `&X-Amz-Security-Token=${encodeURIComponent(credentials.sessionToken)}`;
    return query;
  };

  before(async () => {
    mkdirSync(join(dir.path, "functions"), { recursive: true });
    for (const name of ["IoTCustomAuthorizer.mjs", "websocket_token_authorizer.mjs"]) {
      copyFileSync(new URL(`./functions/${name}`, import.meta.url), join(dir.path, "functions", name));
    }
    writeFileSync(join(dir.path, "functions", "short_lived.mjs"), `export const handler = async () => ({ isAuthenticated: true, principalId: "short", disconnectAfterInSeconds: 300, refreshAfterInSeconds: 300, policyDocuments: [${JSON.stringify(TOPIC_POLICY("t"))}] });`);
    core = await startCore(dir.path, { region: REGION, authorizerLifetimeScale: 0.001, now: () => Date.now() + clockOffsetMs });
    writeFileSync(caFile(), core.serverCaPem);
    iot = iotClient(core);
    const fn = (name: string) => `arn:aws:lambda:${REGION}:${core.accountId}:function:${name}`;
    await iot.send(new CreateAuthorizerCommand({ authorizerName: "websocket_token_authorizer", authorizerFunctionArn: fn("websocket_token_authorizer"), tokenKeyName: "my-token", tokenSigningPublicKeys: { "device-001": keys.publicKey }, status: "ACTIVE" }));
    await iot.send(new CreateAuthorizerCommand({ authorizerName: "test", authorizerFunctionArn: fn("IoTCustomAuthorizer"), signingDisabled: true, status: "ACTIVE" }));
    await iot.send(new CreateAuthorizerCommand({ authorizerName: "short", authorizerFunctionArn: fn("short_lived"), signingDisabled: true, status: "ACTIVE" }));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => endClient(c)));
    clockOffsetMs = 0;
  });
  after(async () => {
    iot.destroy();
    await core.close();
    dir.remove();
  });

  const signedUsername = (token: string, sig = signature("sample-token")) =>
    `?x-amz-customauthorizer-name=websocket_token_authorizer&x-amz-customauthorizer-signature=${encodeURIComponent(sig)}&my-token=${token}&SDK=Test&Platform=linux`;
  const mosquittoPub = (username: string, topic: string) => run("mosquitto_pub", [
    "-h", "localhost", "-p", String(core.ports.https), "--cafile", caFile(), "--tls-alpn", "mqtt", "-V", "mqttv311",
    "-i", "client_id", "-u", username, "-t", topic, "-m", "hello", "-q", "1",
  ], { timeoutMs: 10_000 });

  it("accepts mosquitto_pub over ALPN mqtt with the authorizer username and a signed token", async () => {
    const result = await mosquittoPub(signedUsername("sample-token"), "my-topic");
    assert.equal(result.code, 0, result.stderr + core.lines.join("\n"));
    assert.ok(core.lines.some((l) => /connect allowed: client client_id via 443 alpn=mqtt .*custom-authorizer CustomAuthId/.test(l)), core.lines.join("\n"));
  });

  it("refuses mosquitto_pub with a wrong token (CONNACK not authorised) without running the function", async () => {
    const result = await mosquittoPub(signedUsername("other-token"), "my-topic");
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /not authori[sz]ed/i);
    assert.ok(core.lines.some((l) => l.includes("authorizer-signature-invalid")));
  });

  it("runs the WebSocket custom-auth walkthrough with its headers: subscribe and publish my-topic, as written", async () => {
    const c = await ws("", { headers: { "x-amz-customauthorizer-name": "websocket_token_authorizer", "x-amz-customauthorizer-signature": signature("sample-token"), "my-token": "sample-token" } });
    assert.equal(c.connected, true, core.lines.join("\n"));
    const received: string[] = [];
    c.client.on("message", (_topic, payload) => received.push(payload.toString()));
    assert.equal(await subscribe(c.client, "my-topic"), 1);
    for (let i = 0; i < 3; i++) await bounded(c.client.publishAsync("my-topic", JSON.stringify({ counter: i }), { qos: 1 }));
    for (let i = 0; i < 50 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(received, [0, 1, 2].map((i) => JSON.stringify({ counter: i })));
    const event = core.lines.filter((l) => l.includes("eventy:")).at(-1)!;
    assert.match(event, /"signatureVerified":true/);
    assert.match(event, /"sec-websocket-protocol":"mqtt"/);
    assert.match(event, /"protocols":\["tls","http","mqtt"\]/);
    assert.match(event, /"connectionMetadata":\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it("applies the function's policies: a denied subscription gets 0x80 and a denied publish closes the connection", async () => {
    const c = await ws("", { headers: { "x-amz-customauthorizer-name": "websocket_token_authorizer", "x-amz-customauthorizer-signature": signature("sample-token"), "my-token": "sample-token" } });
    assert.equal(c.connected, true);
    assert.equal(await subscribe(c.client, "other-topic"), 128);
    c.client.publish("other-topic", "x", { qos: 1 });
    assert.equal(await closed(c.client), true);
    const other = await ws("", { clientId: "another_id", headers: { "x-amz-customauthorizer-name": "websocket_token_authorizer", "x-amz-customauthorizer-signature": signature("sample-token"), "my-token": "sample-token" } });
    assert.equal(other.connected, false, "the walkthrough's policy allows only client_id to connect");
  });

  it("takes the custom-auth values from the WebSocket query string too", async () => {
    const c = await ws(signedUsername("sample-token"));
    assert.equal(c.connected, true, core.lines.join("\n"));
  });

  it("refuses a TLS connection whose SNI the endpoint does not serve", async () => {
    const error = await new Promise<Error | undefined>((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port: core.ports.https, servername: "unknown.example.com", ca: core.serverCaPem, ALPNProtocols: ["mqtt"] });
      socket.once("secureConnect", () => { socket.destroy(); resolve(undefined); });
      socket.once("error", (e) => resolve(e));
      setTimeout(() => { socket.destroy(); resolve(new Error("no answer")); }, 5000);
    });
    assert.ok(error && error.message !== "no answer");
    assert.ok(core.lines.some((l) => l.includes("SNI unknown.example.com is not a name this endpoint serves")));
  });

  it("honours disconnectAfterInSeconds (scaled down by the test option)", async () => {
    const c = await connect({ protocol: "mqtts", host: "127.0.0.1", port: core.ports.https, servername: core.endpoint, ca: core.serverCaPem, ALPNProtocols: ["mqtt"], clientId: "short1", username: "u?x-amz-customauthorizer-name=short" });
    opened.push(c.client);
    assert.equal(c.connected, true, core.lines.join("\n"));
    assert.equal(await closed(c.client), true);
    assert.ok(core.lines.some((l) => l.includes("client short1: the principal's connection lifetime (300 ms) ended")));
  });

  describe("SigV4 presigned WebSocket URLs", () => {
    const user = { accessKeyId: "AKIDLOCALUSER", secretAccessKey: "local/user+secret" };
    before(() => core.auth.accessKeys.add({ ...user, principal: "user/local", policyDocuments: [TOPIC_POLICY("sigv4/*")] }));

    it("accepts the account's key from <state>/aws/credentials, the same key the AWS CLI uses for the control plane", async () => {
      const c = await ws(await presign(core.accountKey), { clientId: "account-key-client" });
      assert.equal(c.connected, true, core.lines.join("\n"));
      await bounded(c.client.publishAsync("anything/goes", "hi", { qos: 1 }));
      await endClient(c.client);
    });

    it("accepts a URL presigned by @smithy/signature-v4 and applies the key's policy", async () => {
      const c = await ws(await presign(user), { clientId: "sigv4-client" });
      assert.equal(c.connected, true, core.lines.join("\n"));
      await bounded(c.client.publishAsync("sigv4/data", "ok", { qos: 1 }));
      assert.equal(await subscribe(c.client, "elsewhere"), 128);
    });

    it("refuses an expired signing date and a URL signed for another region with HTTP 403", async () => {
      const expiredUrl = await presign(user, { signingDate: new Date(Date.now() - 3600_000), expiresIn: 60 });
      const expired = await ws(expiredUrl);
      assert.equal(expired.connected, false);
      assert.equal(await upgradeStatus(core, `/mqtt${expiredUrl}`), 403);
      assert.equal(await upgradeStatus(core, `/mqtt${await presign(user, { region: "us-east-1" })}`), 403);
      const otherRegion = await ws(await presign(user, { region: "us-east-1" }));
      assert.equal(otherRegion.connected, false);
      const tampered = await ws((await presign(user)).replace(REGION, "us-west-2"));
      assert.equal(tampered.connected, false);
      const refusals = core.lines.filter((l) => l.startsWith("websocket refused"));
      for (const code of ["sigv4-expired", "sigv4-scope-mismatch"]) assert.ok(refusals.some((l) => l.includes(code)), code);
    });
  });

  describe("Cognito identity pool credentials", () => {
    let poolId: string;
    const cognito = () => new CognitoIdentityClient({
      region: REGION, endpoint: `https://127.0.0.1:${core.ports.https}`,
      requestHandler: { httpsAgent: new HttpsAgent({ ca: core.serverCaPem, servername: core.cognito.hostName }) },
    });
    before(() => { poolId = core.cognito.createIdentityPool({ name: "devices", policyDocuments: [TOPIC_POLICY("cognito/*")], credentialsLifetimeSeconds: 600 }); });

    it("issues temporary credentials over HTTPS (SNI cognito-identity) that the SigV4 WebSocket accepts until they expire", async () => {
      const client = cognito();
      const { IdentityId } = await client.send(new GetIdCommand({ IdentityPoolId: poolId }));
      const { Credentials } = await client.send(new GetCredentialsForIdentityCommand({ IdentityId }));
      client.destroy();
      assert.match(IdentityId ?? "", new RegExp(`^${REGION}:`));
      const credentials = { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretKey!, sessionToken: Credentials!.SessionToken! };
      const c = await ws(await presign(credentials), { clientId: "cognito-client" });
      assert.equal(c.connected, true, core.lines.join("\n"));
      await bounded(c.client.publishAsync("cognito/hello", "hi", { qos: 1 }));
      const noToken = await ws(await presign({ ...credentials, sessionToken: undefined as unknown as string }));
      assert.equal(noToken.connected, false);
      clockOffsetMs = 601_000;
      const late = await ws(await presign(credentials), { clientId: "cognito-late" });
      assert.equal(late.connected, false);
      assert.ok(core.lines.some((l) => l.includes("sigv4-credentials-expired")));
    });

    it("gives a pool's unauthenticated identities the policies of the IAM role set with set-identity-pool-roles, made over the wire", async () => {
      const admin = { region: REGION, endpoint: core.controlUrl, credentials: core.accountKey };
      const iam = new IAMClient({ ...admin, region: "us-east-1" });
      const control = new CognitoIdentityClient(admin);
      try {
        const { Role } = await iam.send(new CreateRoleCommand({ RoleName: "devices-unauth", AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: "cognito-identity.amazonaws.com" }, Action: "sts:AssumeRoleWithWebIdentity" }] }) }));
        await iam.send(new PutRolePolicyCommand({ RoleName: "devices-unauth", PolicyName: "iot", PolicyDocument: TOPIC_POLICY("role/*") }));
        const { IdentityPoolId } = await control.send(new CreateIdentityPoolCommand({ IdentityPoolName: "role_pool", AllowUnauthenticatedIdentities: true }));
        await control.send(new SetIdentityPoolRolesCommand({ IdentityPoolId, Roles: { unauthenticated: Role!.Arn! } }));
        const client = cognito();
        const { IdentityId } = await client.send(new GetIdCommand({ IdentityPoolId }));
        const { Credentials } = await client.send(new GetCredentialsForIdentityCommand({ IdentityId }));
        client.destroy();
        const credentials = { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretKey!, sessionToken: Credentials!.SessionToken! };
        const c = await ws(await presign(credentials), { clientId: "role-client" });
        assert.equal(c.connected, true, core.lines.join("\n"));
        await bounded(c.client.publishAsync("role/hello", "hi", { qos: 1 }));
        await endClient(c.client);
        assert.ok(core.lines.some((l) => l.includes(`(role ${Role!.Arn})`)), core.lines.join("\n"));
      } finally {
        iam.destroy();
        control.destroy();
      }
    });

    it("gives authenticated identities (Logins) the authenticated role's IAM policy AND requires an IoT policy attached to the identity id; unauthenticated ones the IAM policy alone", async () => {
      const admin = { region: REGION, endpoint: core.controlUrl, credentials: core.accountKey };
      const iam = new IAMClient({ ...admin, region: "us-east-1" });
      const control = new CognitoIdentityClient(admin);
      const client = cognito();
      const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: "cognito-identity.amazonaws.com" }, Action: "sts:AssumeRoleWithWebIdentity" }] });
      const provider = "login.example.com";
      try {
        const role = async (name: string, topic: string) => {
          const { Role } = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }));
          await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "iot", PolicyDocument: TOPIC_POLICY(topic) }));
          return Role!.Arn!;
        };
        const { IdentityPoolId } = await control.send(new CreateIdentityPoolCommand({ IdentityPoolName: "users", AllowUnauthenticatedIdentities: true, SupportedLoginProviders: { [provider]: "app-id" } }));
        await control.send(new SetIdentityPoolRolesCommand({ IdentityPoolId, Roles: { authenticated: await role("users-auth", "auth/*"), unauthenticated: await role("users-unauth", "guest/*") } }));
        const credentialsOf = async (o: { Logins?: Record<string, string> }) => {
          const { IdentityId } = await client.send(new GetIdCommand({ IdentityPoolId, ...o }));
          const { Credentials } = await client.send(new GetCredentialsForIdentityCommand({ IdentityId, ...o }));
          return { identityId: IdentityId!, credentials: { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretKey!, sessionToken: Credentials!.SessionToken! } };
        };
        const logins = { [provider]: "user-1-token" };
        const user = await credentialsOf({ Logins: logins });
        assert.equal((await client.send(new GetIdCommand({ IdentityPoolId, Logins: logins }))).IdentityId, user.identityId, "the same login maps to the same identity");
        await assert.rejects(client.send(new GetCredentialsForIdentityCommand({ IdentityId: user.identityId })), (e: Error) => e.name === "NotAuthorizedException");
        await assert.rejects(client.send(new GetIdCommand({ IdentityPoolId, Logins: { "accounts.google.com": "x" } })), (e: Error) => e.name === "NotAuthorizedException");

        // The role's IAM policy allows, but no IoT policy is attached to the identity: refused.
        const refused = await ws(await presign(user.credentials), { clientId: "auth-client" });
        assert.equal(refused.connected, false);
        assert.ok(core.lines.some((l) => l.includes(`no IoT policy attached to identity ${user.identityId}`)), core.lines.join("\n"));
        const data = new IoTDataPlaneClient({
          region: REGION, endpoint: `https://127.0.0.1:${core.ports.https}`, credentials: user.credentials,
          requestHandler: { httpsAgent: new HttpsAgent({ ca: core.serverCaPem, servername: core.endpoint }) },
        });
        const httpsPublish = () => data.send(new PublishCommand({ topic: "auth/https", payload: Buffer.from("hi"), qos: 1 }));
        await assert.rejects(httpsPublish(), (e: Error) => e.name === "ForbiddenException", "HTTPS publish needs the attached IoT policy too");
        assert.ok(core.lines.some((l) => l.includes("topic/auth/https: default-deny (no IoT policy attached")), core.lines.join("\n"));

        // Attach an IoT policy to the identity id (wider than the IAM policy): both allow auth/*, only the IoT policy allows other/*.
        await iot.send(new CreatePolicyCommand({ policyName: "user-policy", policyDocument: TOPIC_POLICY("*") }));
        await iot.send(new AttachPolicyCommand({ policyName: "user-policy", target: user.identityId }));
        const allowed = await ws(await presign(user.credentials), { clientId: "auth-client" });
        assert.equal(allowed.connected, true, core.lines.join("\n"));
        assert.equal(await subscribe(allowed.client, "auth/x"), 1);
        assert.equal(await subscribe(allowed.client, "other/x"), 0x80, "the role's IAM policy does not allow other/*");
        await bounded(allowed.client.publishAsync("auth/hello", "hi", { qos: 1 }));
        await httpsPublish();
        data.destroy();

        // Unauthenticated identities of the same pool: the unauthenticated role's IAM policy alone.
        const guest = await credentialsOf({});
        const g = await ws(await presign(guest.credentials), { clientId: "guest-client" });
        assert.equal(g.connected, true, core.lines.join("\n"));
        await bounded(g.client.publishAsync("guest/hello", "hi", { qos: 1 }));
        assert.equal(await subscribe(g.client, "auth/x"), 0x80);
      } finally {
        iam.destroy();
        control.destroy();
        client.destroy();
      }
    });

    it("answers an unknown pool with Cognito's ResourceNotFoundException", async () => {
      const client = cognito();
      await assert.rejects(client.send(new GetIdCommand({ IdentityPoolId: `${REGION}:00000000-0000-0000-0000-000000000000` })), (e: Error) => e.name === "ResourceNotFoundException");
      client.destroy();
    });
  });

  describe("domain configuration with a default authorizer (the custom-domain walkthrough)", () => {
    before(async () => {
      await iot.send(new CreateDomainConfigurationCommand({ domainConfigurationName: "myDomainConfigurationName", serviceType: "DATA", domainName: CUSTOM_DOMAIN }));
      await iot.send(new UpdateDomainConfigurationCommand({ domainConfigurationName: "myDomainConfigurationName", authorizerConfig: { defaultAuthorizerName: "test", allowAuthorizerOverride: true } }));
    });

    it("answers test-invoke-authorizer --http-context '{}' with the custom-domain walkthrough's function", async () => {
      const answer = await iot.send(new TestInvokeAuthorizerCommand({ authorizerName: "test", httpContext: {} }));
      assert.equal(answer.isAuthenticated, true);
      assert.equal(answer.principalId, "anonymous");
    });

    it("serves the custom domain with its own certificate and lets the default authorizer admit wss://iot.oxoxo.me/mqtt", async () => {
      const c = await ws("", { servername: CUSTOM_DOMAIN, clientId: "browser-client" });
      assert.equal(c.connected, true, core.lines.join("\n"));
      const peer = await new Promise<X509Certificate>((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port: core.ports.https, servername: CUSTOM_DOMAIN, ca: core.serverCaPem }, () => {
          resolve(new X509Certificate(socket.getPeerCertificate().raw));
          socket.destroy();
        });
        socket.once("error", reject);
      });
      assert.equal(peer.checkHost(CUSTOM_DOMAIN), CUSTOM_DOMAIN);
      assert.equal(peer.checkHost(core.endpoint), undefined);
      assert.ok(core.lines.some((l) => /connect allowed: client browser-client .*sni=iot\.oxoxo\.me: custom-authorizer anonymous/.test(l)), core.lines.join("\n"));
    });
  });
});
