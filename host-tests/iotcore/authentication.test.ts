// Control-plane authentication and malformed input, seen through clients we did not write:
// awscli v1 and v2 (whichever of `aws` on PATH and Debian's /usr/bin/aws is which), the AWS
// SDK for JavaScript v3, and raw requests signed with @smithy/signature-v4. Each refusal is
// AWS's error code and message, and the stand-in's log says why and what to change.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { GetRegistrationCodeCommand, ListThingsCommand } from "@aws-sdk/client-iot";
import { SignatureV4 } from "@smithy/signature-v4";
import { awsCli, controlRequest, iotClient, run, sdkError, startCore, tempDir, waitFor } from "./helpers.js";

type Core = Awaited<ReturnType<typeof startCore>>;

/** The awscli installations on this machine, by major version. */
async function awsClis(): Promise<{ label: string; command: string }[]> {
  const found: { label: string; command: string }[] = [];
  for (const command of ["aws", "/usr/bin/aws"]) {
    if (command.startsWith("/") && !existsSync(command)) continue;
    const version = await run(command, ["--version"]);
    const major = /aws-cli\/(\d+)\./.exec(version.stdout + version.stderr)?.[1];
    if (major && !found.some((f) => f.label === `v${major}`)) found.push({ label: `v${major}`, command });
  }
  return found;
}

/** A control-plane request signed at `signedAt` (for clock-skew refusals). */
async function signedAt(core: Core, signedAtMs: number, options: { service?: string; region?: string } = {}) {
  const url = new URL("/things", core.controlUrl);
  const signer = new SignatureV4({ credentials: core.accountKey, region: options.region ?? core.region, service: options.service ?? "iot", sha256: Sha256 });
  const signed = await signer.sign({ method: "GET", protocol: "http:", hostname: url.hostname, port: Number(url.port), path: "/things", query: {}, headers: { host: url.host } }, { signingDate: new Date(signedAtMs) });
  const response = await fetch(url, { headers: signed.headers as Record<string, string> });
  return { status: response.status, type: response.headers.get("x-amzn-errortype"), body: await response.json() as { message: string } };
}

describe("control-plane authentication (awscli v1 and v2, the AWS SDK)", function () {
  // Each awscli run starts Python (1-4 s on a loaded machine); the walkthrough makes eight.
  this.timeout(120_000);
  const dir = tempDir("authentication");
  let core: Core;
  let clis: { label: string; command: string }[] = [];

  before(async () => {
    core = await startCore(join(dir.path, "state"));
    clis = await awsClis();
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("writes the account's key for the AWS CLI in the state directory, and awscli v1 and v2 use it with no other set-up", async () => {
    assert.ok(clis.length >= 1, "no awscli installed");
    for (const cli of clis) {
      const listed = await awsCli(core, "iot", ["list-things"], { command: cli.command });
      assert.equal(listed.code, 0, `${cli.label}: ${listed.stderr}`);
      assert.deepEqual(listed.json.things, []);
    }
  });

  it("refuses an unsigned request with 403 MissingAuthenticationTokenException", async () => {
    const answer = await controlRequest(core, "GET", "/things", { sign: false });
    assert.equal(answer.status, 403);
    assert.equal(answer.type, "MissingAuthenticationTokenException");
    assert.equal(JSON.parse(answer.body).message, "Missing Authentication Token");
    assert.match(answer.requestId ?? "", /^[0-9a-f-]{36}$/);
  });

  it("refuses an unknown access key with 403 UnrecognizedClientException", async () => {
    const client = iotClient(core, { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "whatever" });
    try {
      const error = await sdkError(client.send(new GetRegistrationCodeCommand({})));
      assert.deepEqual(error, { name: "UnrecognizedClientException", message: "The security token included in the request is invalid.", status: 403 });
    } finally {
      client.destroy();
    }
    assert.ok(await waitFor(() => core.lines.some((l) => /GetRegistrationCode refused: UnrecognizedClientException: access key AKIAUNKNOWNKEY000000 is unknown/.test(l))));
  });

  it("refuses a wrong secret with 403 InvalidSignatureException, to both awscli versions", async () => {
    for (const cli of clis) {
      const result = await run(cli.command, ["iot", "list-things", "--endpoint-url", core.controlUrl, "--region", core.region], {
        env: { AWS_ACCESS_KEY_ID: core.accountKey.accessKeyId, AWS_SECRET_ACCESS_KEY: "not-the-secret", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_CONFIG_FILE: "/dev/null", AWS_PAGER: "" },
        timeoutMs: 30000,
      });
      assert.notEqual(result.code, 0, cli.label);
      assert.match(result.stderr, /\(InvalidSignatureException\).*The request signature we calculated does not match the signature you provided/, cli.label);
    }
  });

  it("refuses a request signed more than 5 minutes ago or ahead, with AWS's messages", async () => {
    const past = await signedAt(core, Date.now() - 6 * 60_000);
    assert.equal(past.status, 403);
    assert.equal(past.type, "InvalidSignatureException");
    assert.match(past.body.message, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const future = await signedAt(core, Date.now() + 6 * 60_000);
    assert.match(future.body.message, /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/);
    assert.equal((await signedAt(core, Date.now() - 60_000)).status, 200);
  });

  it("refuses a signature scoped to another service", async () => {
    const answer = await signedAt(core, Date.now(), { service: "acm" });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.message, "Credential should be scoped to correct service: 'iot'. ");
  });

  it("refuses expired temporary credentials with ExpiredTokenException, and a temporary key without its token", async () => {
    const temporary = { accessKeyId: "ASIAEXPIREDKEY000000", secretAccessKey: "temporary-secret", sessionToken: "token" };
    core.auth.accessKeys.add({ ...temporary, expiresAtMs: Date.now() - 1000, principal: "us-east-1:00000000-0000-0000-0000-000000000000", policyDocuments: [] });
    const expired = iotClient(core, temporary);
    const tokenless = iotClient(core, { accessKeyId: temporary.accessKeyId, secretAccessKey: temporary.secretAccessKey });
    try {
      assert.equal((await sdkError(expired.send(new ListThingsCommand({})))).name, "ExpiredTokenException");
      assert.equal((await sdkError(tokenless.send(new ListThingsCommand({})))).name, "UnrecognizedClientException");
    } finally {
      expired.destroy();
      tokenless.destroy();
    }
  });

  it("a walkthrough run with --region us-east-2 fails at its first call with AWS's message and the log names --region; run verbatim with --region us-east-1 it passes", async () => {
    const walkthrough = (region: string) => [
      ["create-thing", "--thing-name", `walk-${region}`, "--region", region],
      ["create-policy", "--policy-name", `walk-${region}`, "--policy-document", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:Connect", Resource: `arn:aws:iot:${region}:${core.accountId}:client/walk` }] }), "--region", region],
      ["describe-endpoint", "--endpoint-type", "iot:Data-ATS", "--region", region],
    ];
    for (const cli of clis) {
      const [first] = walkthrough("us-east-2");
      const refused = await awsCli(core, "iot", first!.map((a) => a.replace("walk-us-east-2", `walk-us-east-2-${cli.label}`)), { command: cli.command });
      assert.notEqual(refused.code, 0, cli.label);
      assert.match(refused.stderr, /\(InvalidSignatureException\).*Credential should be scoped to a valid region, not 'us-east-2'\./, `${cli.label}: ${refused.stderr}`);
      assert.throws(() => core.registry.getThing(`walk-us-east-2-${cli.label}`), /does not exist/);
      for (const step of walkthrough("us-east-1")) {
        const args = step.map((a) => a.replace(/^walk-us-east-1$/, `walk-us-east-1-${cli.label}`));
        const passed = await awsCli(core, "iot", args, { command: cli.command });
        assert.equal(passed.code, 0, `${cli.label} ${args[0]}: ${passed.stderr}`);
      }
    }
    assert.ok(core.lines.some((l) => /signed for region 'us-east-2' but this stand-in serves 'us-east-1': run the command with --region us-east-1/.test(l)), core.lines.join("\n"));
  });
});

describe("control-plane input AWS refuses (raw requests and the SDK)", function () {
  const dir = tempDir("malformed");
  let core: Core;

  before(async () => { core = await startCore(join(dir.path, "state")); });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  const errorOf = (answer: { status: number; type: string | null }) => ({ status: answer.status, type: answer.type });

  it("answers a malformed %-escape, a member of the wrong type and a body that is not JSON with 400 InvalidRequestException, never 500", async () => {
    assert.deepEqual(errorOf(await controlRequest(core, "GET", "/things/bad%zzname")), { status: 400, type: "InvalidRequestException" });
    assert.deepEqual(errorOf(await controlRequest(core, "POST", "/things/typed", { body: JSON.stringify({ attributePayload: 5 }) })), { status: 400, type: "InvalidRequestException" });
    assert.deepEqual(errorOf(await controlRequest(core, "POST", "/things/typed", { body: JSON.stringify({ attributePayload: { attributes: { a: 5 } } }) })), { status: 400, type: "InvalidRequestException" });
    assert.deepEqual(errorOf(await controlRequest(core, "POST", "/things/typed", { body: "{not json" })), { status: 400, type: "InvalidRequestException" });
    assert.deepEqual(errorOf(await controlRequest(core, "GET", "/things?maxResults=500")), { status: 400, type: "InvalidRequestException" });
    assert.deepEqual(errorOf(await controlRequest(core, "GET", "/endpoint?endpointType=iot:Anything")), { status: 400, type: "InvalidRequestException" });
    assert.equal(core.lines.some((l) => l.includes("internal failure")), false, core.lines.join("\n"));
    assert.ok(core.lines.some((l) => /CreateThing refused: InvalidRequestException: attributePayload must be an object, not number 5/.test(l)), core.lines.join("\n"));
  });

  it("stores a thing named __proto__ or constructor like any other, across a restart", async () => {
    for (const name of ["__proto__", "constructor"]) {
      const created = await controlRequest(core, "POST", `/things/${name}`, { body: JSON.stringify({ attributePayload: { attributes: { kind: "odd" } } }) });
      assert.equal(created.status, 200, created.body);
    }
    await core.close();
    core = await startCore(join(dir.path, "state"));
    for (const name of ["__proto__", "constructor"]) {
      const described = await controlRequest(core, "GET", `/things/${name}`);
      assert.equal(described.status, 200, described.body);
      assert.deepEqual(JSON.parse(described.body).attributes, { kind: "odd" });
    }
    assert.deepEqual(core.registry.things.list().map((t) => t.thingName).sort(), ["__proto__", "constructor"]);
  });

  it("holds attributes and policies to AWS's limits: 800-character values, 3 attributes without a type, 2,048-character documents", async () => {
    const long = await controlRequest(core, "POST", "/things/long", { body: JSON.stringify({ attributePayload: { attributes: { a: "x".repeat(801) } } }) });
    assert.deepEqual(errorOf(long), { status: 400, type: "InvalidRequestException" });
    const many = await controlRequest(core, "POST", "/things/many", { body: JSON.stringify({ attributePayload: { attributes: { a: "1", b: "2", c: "3", d: "4" } } }) });
    assert.deepEqual(errorOf(many), { status: 400, type: "InvalidRequestException" });
    const big = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:Connect", Resource: `arn:aws:iot:us-east-1:123456789012:client/${"c".repeat(2100)}` }] });
    assert.deepEqual(errorOf(await controlRequest(core, "POST", "/policies/big", { body: JSON.stringify({ policyDocument: big }) })), { status: 400, type: "MalformedPolicyException" });
  });

  it("refuses a body over 1 MiB with 413 before reading it all, and logs it", async () => {
    const answer = await controlRequest(core, "POST", "/things/huge", { body: JSON.stringify({ attributePayload: { attributes: { a: "x".repeat(2 * 1024 * 1024) } } }) });
    assert.deepEqual(errorOf(answer), { status: 413, type: "RequestEntityTooLargeException" });
    assert.ok(core.lines.some((l) => /POST \/things\/huge refused: body over 1048576 bytes/.test(l)), core.lines.join("\n"));
  });

  it("keeps policy versions as AWS does: at most five, the default not deletable, the default's document evaluated", async () => {
    const client = iotClient(core);
    const { CreatePolicyCommand, CreatePolicyVersionCommand, DeletePolicyVersionCommand, GetPolicyCommand, ListPolicyVersionsCommand, SetDefaultPolicyVersionCommand } = await import("@aws-sdk/client-iot");
    const document = (n: number) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:Connect", Resource: `arn:aws:iot:us-east-1:123456789012:client/v${n}` }] });
    try {
      await client.send(new CreatePolicyCommand({ policyName: "versioned", policyDocument: document(1) }));
      for (const n of [2, 3, 4, 5]) await client.send(new CreatePolicyVersionCommand({ policyName: "versioned", policyDocument: document(n), setAsDefault: n === 3 }));
      assert.equal((await sdkError(client.send(new CreatePolicyVersionCommand({ policyName: "versioned", policyDocument: document(6) })))).name, "VersionsLimitExceededException");
      const listed = await client.send(new ListPolicyVersionsCommand({ policyName: "versioned" }));
      assert.deepEqual(listed.policyVersions?.map((v) => [v.versionId, v.isDefaultVersion]), [["1", false], ["2", false], ["3", true], ["4", false], ["5", false]]);
      assert.equal((await sdkError(client.send(new DeletePolicyVersionCommand({ policyName: "versioned", policyVersionId: "3" })))).name, "DeleteConflictException");
      await client.send(new SetDefaultPolicyVersionCommand({ policyName: "versioned", policyVersionId: "5" }));
      assert.equal((await client.send(new GetPolicyCommand({ policyName: "versioned" }))).policyDocument, document(5));
      assert.equal(core.registry.getPolicy("versioned").policyDocument, document(5));
    } finally {
      client.destroy();
    }
  });
});

describe("control plane with authentication turned off (--no-auth)", function () {
  const dir = tempDir("no-auth");
  let core: Core;
  before(async () => { core = await startCore(join(dir.path, "state"), { authenticate: false }); });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("accepts unsigned requests and says so in the log", async () => {
    assert.equal((await controlRequest(core, "GET", "/things", { sign: false })).status, 200);
    assert.equal(core.authenticates, false);
    assert.ok(core.lines.some((l) => /authentication is OFF \(--no-auth\)/.test(l)));
  });
});

describe("IAM over the wire (awscli v1 and v2)", function () {
  this.timeout(120_000);
  const dir = tempDir("iam");
  let core: Core;
  before(async () => { core = await startCore(join(dir.path, "state")); });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("makes a user with an inline policy and an access key that then signs requests, and answers NoSuchEntity in IAM's XML shape", async () => {
    for (const cli of await awsClis()) {
      const user = `dev-${cli.label}`;
      assert.equal((await awsCli(core, "iam", ["create-user", "--user-name", user], { command: cli.command })).json.User.Arn, `arn:aws:iam::123456789012:user/${user}`);
      const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:Connect", Resource: "*" }] });
      assert.equal((await awsCli(core, "iam", ["put-user-policy", "--user-name", user, "--policy-name", "iot", "--policy-document", policy], { command: cli.command })).code, 0);
      const key = (await awsCli(core, "iam", ["create-access-key", "--user-name", user], { command: cli.command })).json.AccessKey as { AccessKeyId: string; SecretAccessKey: string };
      assert.deepEqual(core.auth.accessKeys.lookup(key.AccessKeyId)?.policyDocuments, [policy]);
      const client = iotClient(core, { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });
      try {
        assert.ok((await client.send(new GetRegistrationCodeCommand({}))).registrationCode);
      } finally {
        client.destroy();
      }
      const missing = await awsCli(core, "iam", ["get-role", "--role-name", "nope"], { command: cli.command });
      assert.match(missing.stderr, /\(NoSuchEntity\).*The role with name nope cannot be found/, cli.label);
    }
  });
});
