import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeAuthorizerFunction } from "../../host/cli/demo-setup.js";

const ROOT = join(import.meta.dirname, "..", "..");
const RUN_LIMIT_MS = 60_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm start -- <args>` (tsx host/cli/start.ts) and collects its output; killed after RUN_LIMIT_MS. */
function start(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "host", "cli", "start.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const limit = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS);
    child.on("error", (e) => {
      clearTimeout(limit);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}

function summaryOf(run: Run): Record<string, unknown> {
  const last = run.stdout.trimEnd().split("\n").at(-1) ?? "";
  assert.match(last, /^\{.*\}$/, `the last stdout line is not the JSON summary:\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-1000)}`);
  return JSON.parse(last) as Record<string, unknown>;
}

describe("npm start in the modes without a device certificate", function () {
  this.timeout(RUN_LIMIT_MS + 10_000);
  let stateDir: string;

  before(() => {
    stateDir = mkdtempSync(join(tmpdir(), "npm-start-"));
  });

  after(() => {
    rmSync(stateDir, { recursive: true, force: true });
  });

  const cases: [string, RegExp[]][] = [
    ["custom-auth", [/custom authorizer npm-start-authorizer created: signing enabled/, /in the MQTT username, on 443 with ALPN mqtt/]],
    ["wss-custom-auth", [/custom authorizer npm-start-authorizer (created|exists)/, /in the WebSocket upgrade's headers/]],
    ["wss-sigv4", [/Cognito identity pool us-east-1:[0-9a-f-]+ \(aws cognito-identity create-identity-pool, set-identity-pool-roles\): unauthenticated identities get that role/, /IAM role arn:aws:iam::123456789012:role\/npm_start_\w+ \(aws iam create-role, put-role-policy\)/, /device {2}\| cognito: temporary credentials valid until/]],
  ];
  for (const [mode, steps] of cases) {
    it(`--mode ${mode} runs a fresh device to 3 acknowledged telemetry messages, none lost, and prints each step`, async () => {
      const run = await start(["--mode", mode, "--messages", "3", "--json", "--state", stateDir]);
      const summary = summaryOf(run);
      assert.equal(run.code, 0, run.stdout.slice(-2000));
      assert.equal(summary.ok, true);
      assert.equal(summary.mode, mode);
      assert.equal(summary.provisioning, "none");
      assert.ok((summary.acked as number) >= 3, `acked ${summary.acked}`);
      assert.equal(summary.lost, 0);
      assert.equal(summary.connectAttempts, 1);
      for (const step of steps) assert.match(run.stdout, step);
      assert.match(run.stdout, /device {2}\| credentials: from .*: 0 chain, 1 CA/);
      assert.match(run.stdout, new RegExp(`iotcore \\| connect allowed: client ${summary.thing} via 443`));
    });
  }

  for (const engine of ["xs", "node"]) {
    it(`--mode https-sigv4 (engine ${engine}) posts 3 readings, each signed with SigV4 with Cognito identity-pool credentials the device fetches, answered 200, none lost`, async () => {
      const run = await start(["--mode", "https-sigv4", "--engine", engine, "--messages", "3", "--json", "--state", stateDir]);
      const summary = summaryOf(run);
      assert.equal(run.code, 0, run.stdout.slice(-2000));
      assert.equal(summary.ok, true);
      assert.equal(summary.mode, "https-sigv4");
      assert.equal(summary.engine, engine);
      assert.ok((summary.posted as number) >= 3 && summary.answered === summary.posted, `posted ${summary.posted}, answered ${summary.answered}`);
      assert.equal(summary.lost, 0);
      assert.match(run.stdout, /Cognito identity pool us-east-1:[0-9a-f-]+ \(aws cognito-identity create-identity-pool, set-identity-pool-roles\)/);
      assert.match(run.stdout, /device {2}\| credentials: from .*: 0 chain, 1 CA/);
      assert.match(run.stdout, /device {2}\| cognito: GetId\n[^]*device {2}\| cognito: GetCredentialsForIdentity\n/);
      // Signed with the identity's temporary credentials, which the pool's role allows to publish.
      assert.match(run.stdout, new RegExp(`iotcore \\| https publish allowed via 443 topic ${summary.thing}/telemetry qos 1: sigv4 us-east-1:[0-9a-f-]+; iot:Publish allowed`));
    });
  }

  it("the authorizer function lets a verified token in only as its own client id, with a policy for that thing's topics and shadows", async () => {
    const file = writeAuthorizerFunction(join(stateDir, "function-only"));
    const { handler } = (await import(pathToFileURL(file).href)) as { handler(event: unknown): Promise<Record<string, unknown>> };
    const event = (token: string, clientId: string, signatureVerified = true) => ({ token, signatureVerified, protocolData: { mqtt: { clientId } } });
    const allowed = await handler(event("thing-a", "thing-a"));
    assert.equal(allowed.isAuthenticated, true);
    const policy = JSON.parse((allowed.policyDocuments as string[])[0]!) as { Statement: { Resource: string[] }[] };
    const resources = policy.Statement.flatMap((s) => s.Resource);
    assert.deepEqual(resources.map((r) => r.replace(/^arn:aws:iot:us-east-1:123456789012:/, "")), ["client/thing-a", "topic/thing-a/*", "topic/$aws/things/thing-a/shadow/*", "topic/$aws/things/thing-a/jobs/*", "topic/$aws/things/thing-a/streams/*", "topicfilter/thing-a/*", "topicfilter/$aws/things/thing-a/shadow/*", "topicfilter/$aws/things/thing-a/jobs/*", "topicfilter/$aws/things/thing-a/streams/*"]);
    assert.equal((await handler(event("thing-a", "thing-b"))).isAuthenticated, false);
    assert.equal((await handler(event("thing-a", "thing-a", false))).isAuthenticated, false);
  });

  it("--provisioning jitp with a mode without a device certificate is refused with exit 2 and says why", async () => {
    const run = await start(["--mode", "wss-sigv4", "--provisioning", "jitp", "--state", stateDir]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--mode wss-sigv4 connects without a device certificate, so there is nothing to provision just in time/);
  });
});
