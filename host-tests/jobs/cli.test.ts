// `npm run jobs` against a running stand-in, with an mqtt.js device that runs what it is sent:
// config and reboot documents, and an afr_ota job whose image it fetches over the stream in blocks
// and checks against the code-signing certificate before reporting SUCCEEDED.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes, verify } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { codeSigningCommand, layout } from "../../certs/commands.js";
import { settingsFrom, otaDocument } from "../../host/cli/job-documents.js";
import type { IotCore } from "../../host/iotcore/index.js";
import { endClient, startCore, tempDir } from "../iotcore/helpers.js";
import { TestDevice } from "./device.js";

const ROOT = join(import.meta.dirname, "..", "..");

function jobsCli(args: string[]): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "host/cli/jobs.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (c: Buffer) => (text += c.toString()));
    child.stderr.on("data", (c: Buffer) => (text += c.toString()));
    const limit = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => { clearTimeout(limit); resolve({ code, text }); });
  });
}

type Document = { operation?: string; settings?: Record<string, unknown>; afr_ota?: ReturnType<typeof otaDocument>["afr_ota"] };

/** Fetches file 0 of a stream in 4 KiB blocks, one request per 32 blocks. */
async function fetchStream(device: TestDevice, streamId: string, size: number): Promise<Buffer> {
  const prefix = `$aws/things/${device.thing}/streams/${streamId}`;
  const blocks = new Map<number, Buffer>();
  const total = Math.ceil(size / 4096);
  while (blocks.size < total) {
    const from = device.seen.length;
    const offset = blocks.size;
    const want = Math.min(32, total - offset);
    device.client.publish(`${prefix}/get/json`, JSON.stringify({ f: 0, l: 4096, o: offset, n: want }));
    const end = Date.now() + 5000;
    const data = () => device.seen.slice(from).filter((m) => m.topic === `${prefix}/data/json`);
    while (data().length < want && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    for (const m of data()) blocks.set(Number(m.body.i), Buffer.from(String(m.body.p), "base64"));
    if (data().length === 0) throw new Error(`no blocks from ${streamId}: ${JSON.stringify(device.seen.slice(from).map((m) => m.body))}`);
  }
  return Buffer.concat([...Array(total).keys()].map((i) => blocks.get(i)!));
}

/** The device: applies config, reboots, installs verified images; REJECTs what it does not know. */
function runAgent(device: TestDevice, signerPem: () => string, applied: Record<string, unknown>[]): void {
  const running = new Set<string>();
  device.client.on("message", (topic, payload) => {
    if (topic !== `$aws/things/${device.thing}/jobs/notify-next`) return;
    const execution = (JSON.parse(payload.toString()) as { execution?: { jobId: string; jobDocument: Document } }).execution;
    if (!execution || running.has(execution.jobId)) return;
    running.add(execution.jobId);
    const update = (status: string, details: Record<string, string>) =>
      device.client.publish(`$aws/things/${device.thing}/jobs/${execution.jobId}/update`, JSON.stringify({ status, statusDetails: details }));
    const document = execution.jobDocument;
    void (async () => {
      if (document.operation === "config") {
        applied.push(document.settings ?? {});
        return update("SUCCEEDED", { applied: Object.keys(document.settings ?? {}).join(",") });
      }
      if (document.operation === "reboot") return update("SUCCEEDED", { rebooted: "true" });
      if (document.afr_ota) {
        update("IN_PROGRESS", { step: "downloading" });
        const file = document.afr_ota.files[0];
        const image = await fetchStream(device, document.afr_ota.streamname, file.filesize);
        const good = file.certfile === "code-signing.pem" && verify("sha256", image, { key: signerPem(), dsaEncoding: "der" }, Buffer.from(file["sig-sha256-ecdsa"], "base64"));
        return good ? update("SUCCEEDED", { sha256: createHash("sha256").update(image).digest("hex") }) : update("FAILED", { reason: "signature does not verify" });
      }
      return update("REJECTED", { reason: `unknown operation '${String(document.operation)}'` });
    })();
  });
}

describe("npm run jobs against the stand-in", function () {
  this.timeout(120_000);
  let dir: ReturnType<typeof tempDir>;
  let core: IotCore & { lines: string[] };
  let device: TestDevice;
  const applied: Record<string, unknown>[] = [];
  let state: string;
  let certsDir: string;

  before(async () => {
    dir = tempDir("jobs-cli");
    state = join(dir.path, "iotcore");
    certsDir = join(dir.path, "certs");
    core = await startCore(state);
    await codeSigningCommand({ outDir: certsDir });
    device = await TestDevice.connect(core, "gadget", ["jobs/#", "streams/#"]);
    runAgent(device, () => readFileSync(layout(certsDir).codeSigningPem, "utf8"), applied);
  });
  after(async () => {
    await endClient(device?.client);
    await core?.close();
    dir?.remove();
  });

  it("reads --set values as JSON where they are JSON", () => {
    assert.deepEqual(settingsFrom(["telemetryIntervalMs=500", "logLevel=debug", "flag=true", "name=\"7\""]), { telemetryIntervalMs: 500, logLevel: "debug", flag: true, name: "7" });
    assert.throws(() => settingsFrom(["oops"]), /--set oops is not name=value/);
    assert.throws(() => settingsFrom([]), /--set is required/);
  });

  it("config creates the config job and follows it to SUCCEEDED (exit 0)", async () => {
    const run = await jobsCli(["config", "--state", state, "--thing-name", "gadget", "--set", "telemetryIntervalMs=500", "--job-id", "cfg-1", "--poll-ms", "100"]);
    assert.equal(run.code, 0, run.text);
    assert.match(run.text, /job cfg-1 created for gadget: \{"operation":"config","settings":\{"telemetryIntervalMs":500\}\}/);
    assert.match(run.text, /cfg-1 on gadget: SUCCEEDED \(version \d+\) applied=telemetryIntervalMs/);
    assert.deepEqual(applied, [{ telemetryIntervalMs: 500 }]);
  });

  it("ota stages the image as a stream file, signs it with certs sign-image, and the device's verified download ends SUCCEEDED", async () => {
    const image = randomBytes(100 * 1024 + 5);
    const imageFile = join(dir.path, "app-v2.bin");
    writeFileSync(imageFile, image);
    const run = await jobsCli(["ota", "--state", state, "--thing-name", "gadget", "--image", imageFile, "--out-dir", certsDir, "--job-id", "ota-1", "--poll-ms", "100"]);
    assert.equal(run.code, 0, run.text);
    assert.deepEqual(readFileSync(join(state, "s3", "ota", "ota-1", "app-v2.bin")), image);
    const execution = core.jobs.jobs.execution("ota-1", "gadget");
    assert.deepEqual([execution.status, execution.statusDetails], ["SUCCEEDED", { sha256: createHash("sha256").update(image).digest("hex") }]);
    const document = JSON.parse(core.jobs.jobs.jobDocumentOf("ota-1")) as ReturnType<typeof otaDocument>;
    assert.deepEqual({ ...document.afr_ota.files[0], "sig-sha256-ecdsa": "-" }, { filepath: "app-v2.bin", filesize: image.length, fileid: 0, certfile: "code-signing.pem", "sig-sha256-ecdsa": "-" });
    assert.equal(document.afr_ota.streamname, "ota-1");
    assert.match(run.text, /ota-1 on gadget: SUCCEEDED/);
  });

  it("a wrong --signature makes the device report FAILED, and the command exits 1 with the reason; status shows the job", async () => {
    const imageFile = join(dir.path, "app-v3.bin");
    writeFileSync(imageFile, randomBytes(5000));
    const forged = Buffer.from(randomBytes(70)).toString("base64");
    const run = await jobsCli(["ota", "--state", state, "--thing-name", "gadget", "--image", imageFile, "--signature", forged, "--job-id", "ota-2", "--poll-ms", "100"]);
    assert.equal(run.code, 1, run.text);
    assert.match(run.text, /ota-2 on gadget: FAILED \(version \d+\) reason=signature does not verify/);
    const status = await jobsCli(["status", "--state", state, "--job-id", "ota-2"]);
    assert.equal(status.code, 0, status.text);
    assert.match(status.text, /ota-2: COMPLETED \(SNAPSHOT\) Failed=1/);
    assert.match(status.text, /gadget: FAILED/);
  });

  it("reboot --thing-group reaches every member and follows the job to COMPLETED; --continuous creates a job that later members get", async () => {
    const other = await TestDevice.connect(core, "widget", ["jobs/#", "streams/#"]);
    try {
      runAgent(other, () => readFileSync(layout(certsDir).codeSigningPem, "utf8"), applied);
      core.registry.createThingGroup("fleet");
      core.registry.addThingToThingGroup("fleet", "gadget");
      core.registry.addThingToThingGroup("fleet", "widget");
      const run = await jobsCli(["reboot", "--state", state, "--thing-group", "fleet", "--job-id", "fleet-1", "--poll-ms", "100"]);
      assert.equal(run.code, 0, run.text);
      assert.match(run.text, /job fleet-1 created for thing group fleet: \{"operation":"reboot"\}/);
      assert.match(run.text, /fleet-1 on gadget: SUCCEEDED/);
      assert.match(run.text, /fleet-1 on widget: SUCCEEDED/);
      assert.match(run.text, /fleet-1: COMPLETED, 2 of 2 thing\(s\) SUCCEEDED/);
      const continuous = await jobsCli(["reboot", "--state", state, "--thing-group", "fleet", "--continuous", "--job-id", "fleet-2"]);
      assert.equal(continuous.code, 0, continuous.text);
      assert.match(continuous.text, /a continuous job does not end/);
      assert.equal(core.jobs.jobs.getJob("fleet-2").targetSelection, "CONTINUOUS");
    } finally {
      await endClient(other.client);
    }
  });

  it("refuses an unknown thing and a state folder with no stand-in, naming the fix (exit 2)", async () => {
    const unknown = await jobsCli(["reboot", "--state", state, "--thing-name", "nobody"]);
    assert.equal(unknown.code, 2, unknown.text);
    assert.match(unknown.text, /describe-thing nobody refused: ResourceNotFoundException/);
    const none = await jobsCli(["status", "--state", join(dir.path, "no-such-state")]);
    assert.equal(none.code, 2, none.text);
    assert.match(none.text, /no-such-state\/aws\/credentials does not exist: no stand-in has run with --state .*; start one with `npm run iotcore -- --state/);
  });
});
