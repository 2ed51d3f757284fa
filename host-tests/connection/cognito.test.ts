import assert from "node:assert/strict";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import { CognitoIdentityClient, GetIdCommand, GetCredentialsForIdentityCommand } from "@aws-sdk/client-cognito-identity";
import { createRootCa, issueCertificate, type Issued } from "../../certs/pki.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { cognitoCredentials, type CredentialSource } from "../../firmware/cognito/identity.js";
import type { SigV4Credentials } from "../../firmware/sigv4/sign.js";
import type { Failure } from "../../firmware/platform/failure.js";
import type { Platform } from "../../firmware/platform/seam.js";

interface Seen {
  target: string;
  contentType: string;
  body: Record<string, unknown>;
}

const POOL = "us-east-1:0f6b1b3c-1111-2222-3333-444455556666";

describe("Cognito identity credentials over HTTPS", () => {
  let ca: Issued;
  let server: https.Server;
  let port: number;
  let seen: Seen[];
  let now: number;
  let answer: (target: string, res: import("node:http").ServerResponse) => void;
  let stateDir: string;

  const standard = (target: string, res: import("node:http").ServerResponse) => {
    res.setHeader("Content-Type", "application/x-amz-json-1.1");
    if (target.endsWith("GetId")) return res.end(JSON.stringify({ IdentityId: "us-east-1:identity-1" }));
    res.end(JSON.stringify({
      IdentityId: "us-east-1:identity-1",
      Credentials: { AccessKeyId: `ASIA${seen.length}`, SecretKey: "secret", SessionToken: "token", Expiration: (now + 3_600_000) / 1000 },
    }));
  };

  before(async () => {
    ca = await createRootCa({ subject: { commonName: "Test Root" } });
    const leaf = await issueCertificate({ issuer: ca, subject: { commonName: "cognito" }, kind: "server", dnsNames: ["cognito-identity.local"], ipAddresses: ["127.0.0.1"] });
    server = https.createServer({ key: leaf.key.privateKeyPem, cert: leaf.certPem }, (req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const target = String(req.headers["x-amz-target"]);
        seen.push({ target, contentType: String(req.headers["content-type"]), body: JSON.parse(body) });
        answer(target, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  beforeEach(() => {
    seen = [];
    now = Date.UTC(2025, 0, 1);
    answer = standard;
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cognito-"));
  });

  afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  function platform(): Platform {
    const p = createNodePlatform({ storageDir: stateDir, log: () => {} });
    return { ...p, clock: { now: () => now, isSet: () => true } };
  }

  function cognito(p: Platform) {
    return cognitoCredentials(p, { identityPoolId: POOL, cognitoEndpoint: "127.0.0.1", cognitoPort: port }, [ca.certDer]);
  }

  const get = (c: CredentialSource) =>
    new Promise<SigV4Credentials | Failure>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no answer within 5 s")), 5000);
      c((r) => {
        clearTimeout(t);
        resolve(r);
      });
    });

  it("sends GetId and GetCredentialsForIdentity exactly as the AWS SDK does", async () => {
    const got = await get(cognito(platform()));
    assert.ok(!("code" in got));
    const ours = seen.splice(0);
    const sdk = new CognitoIdentityClient({
      region: "us-east-1",
      endpoint: `https://127.0.0.1:${port}`,
      requestHandler: { httpsAgent: new https.Agent({ ca: ca.certPem }) },
    });
    const id = await sdk.send(new GetIdCommand({ IdentityPoolId: POOL }));
    await sdk.send(new GetCredentialsForIdentityCommand({ IdentityId: id.IdentityId }));
    sdk.destroy();
    assert.deepEqual(ours, seen);
  });

  it("returns the temporary credentials with the expiry in milliseconds", async () => {
    const got = await get(cognito(platform()));
    assert.deepEqual(got, { accessKeyId: "ASIA2", secretAccessKey: "secret", sessionToken: "token", expiration: now + 3_600_000 });
  });

  it("reuses credentials while they are fresh and fetches new ones inside the refresh margin", async () => {
    const c = cognito(platform());
    const first = await get(c);
    now += 50 * 60_000;
    assert.equal(await get(c), first);
    assert.equal(seen.length, 2);
    now += 6 * 60_000; // 4 minutes left: inside the 5-minute margin
    const second = (await get(c)) as SigV4Credentials;
    assert.equal(second.accessKeyId, "ASIA3");
    assert.deepEqual(seen.map((s) => s.target.split(".")[1]), ["GetId", "GetCredentialsForIdentity", "GetCredentialsForIdentity"]);
  });

  it("keeps the identity id in storage so that a restarted device skips GetId", async () => {
    await get(cognito(platform()));
    await get(cognito(platform()));
    assert.deepEqual(seen.map((s) => s.target.split(".")[1]), ["GetId", "GetCredentialsForIdentity", "GetCredentialsForIdentity"]);
  });

  it("asks for a new identity when the kept one belongs to another identity pool", async () => {
    await get(cognito(platform()));
    const otherPool = "us-east-1:99999999-aaaa-bbbb-cccc-dddddddddddd";
    await get(cognitoCredentials(platform(), { identityPoolId: otherPool, cognitoEndpoint: "127.0.0.1", cognitoPort: port }, [ca.certDer]));
    assert.deepEqual(seen.map((s) => s.target.split(".")[1]), ["GetId", "GetCredentialsForIdentity", "GetId", "GetCredentialsForIdentity"]);
    assert.equal(seen[2]!.body.IdentityPoolId, otherPool);
  });

  it("reads a chunked answer", async () => {
    answer = (target, res) => {
      if (target.endsWith("GetId")) return standard(target, res);
      const body = JSON.stringify({ Credentials: { AccessKeyId: "ASIAC", SecretKey: "s", SessionToken: "t", Expiration: now / 1000 + 3600 } });
      res.write(body.slice(0, 10));
      res.end(body.slice(10));
    };
    const got = (await get(cognito(platform()))) as SigV4Credentials;
    assert.equal(got.accessKeyId, "ASIAC");
  });

  it("reports AWS's error type and message for a pool without unauthenticated access, and does not retry it", async () => {
    answer = (_target, res) => {
      res.statusCode = 400;
      res.end(JSON.stringify({ __type: "NotAuthorizedException", message: "Unauthenticated access is not supported for this identity pool." }));
    };
    const got = (await get(cognito(platform()))) as Failure;
    assert.equal(got.code, "cognito-request-failed");
    assert.match(got.message, /NotAuthorizedException: Unauthenticated access/);
    assert.equal(got.retryable, false);
  });

  it("passes on the TLS failure when the Cognito endpoint is not trusted", async () => {
    const other = await createRootCa({ subject: { commonName: "Other Root" } });
    const c = cognitoCredentials(platform(), { identityPoolId: POOL, cognitoEndpoint: "127.0.0.1", cognitoPort: port }, [other.certDer]);
    const got = (await get(c)) as Failure;
    assert.equal(got.code, "tls-untrusted-server");
    assert.equal(seen.length, 0);
  });
});
