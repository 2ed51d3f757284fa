// A job created and followed with the AWS CLI (v1 and v2, whichever of `aws` on PATH and Debian's
// /usr/bin/aws is which) while an mqtt.js device runs it through the Jobs MQTT API.
import assert from "node:assert/strict";
import type { IotCore } from "../../host/iotcore/index.js";
import { awsCli, endClient, run, startCore, tempDir } from "../iotcore/helpers.js";
import { TestDevice } from "./device.js";

const KNOWN = new Set(["config", "reboot"]);

/** A minimal jobs agent: takes each job from notify-next, REJECTs operations it does not know, SUCCEEDs the others. */
function runAgent(device: TestDevice): void {
  device.client.on("message", (topic, payload) => {
    if (topic !== `$aws/things/${device.thing}/jobs/notify-next`) return;
    const execution = (JSON.parse(payload.toString()) as { execution?: { jobId: string; jobDocument: { operation?: unknown }; versionNumber: number } }).execution;
    if (!execution) return;
    const operation = String(execution.jobDocument.operation);
    const update = KNOWN.has(operation)
      ? { status: "SUCCEEDED", statusDetails: { result: `${operation} done` } }
      : { status: "REJECTED", statusDetails: { reason: `unknown operation '${operation}'` } };
    device.client.publish(`$aws/things/${device.thing}/jobs/${execution.jobId}/update`, JSON.stringify({ ...update, expectedVersion: execution.versionNumber }));
  });
}

/** describe-job-execution until the execution leaves QUEUED and IN_PROGRESS (bounded by 10 tries). */
async function followExecution(core: IotCore, command: string, jobId: string, thing: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 10; i++) {
    const described = await awsCli(core, "iot", ["describe-job-execution", "--job-id", jobId, "--thing-name", thing], { command });
    assert.equal(described.code, 0, described.stderr);
    const execution = described.json.execution as Record<string, unknown>;
    if (execution.status !== "QUEUED" && execution.status !== "IN_PROGRESS") return execution;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${jobId} on ${thing} did not end`);
}

describe("IoT Jobs (stand-in) with the AWS CLI v1 and v2", function () {
  this.timeout(120_000);
  let dir: ReturnType<typeof tempDir>;
  let core: IotCore & { lines: string[] };
  let device: TestDevice;

  before(async () => {
    dir = tempDir("jobs-cli");
    core = await startCore(dir.path);
    device = await TestDevice.connect(core, "cli-device");
    runAgent(device);
  });
  after(async () => {
    await endClient(device?.client);
    await core?.close();
    dir?.remove();
  });

  for (const command of ["aws", "/usr/bin/aws"]) {
    it(`${command}: create-job, then describe-job-execution follows the device to SUCCEEDED`, async function () {
      const version = await run(command, ["--version"]);
      if (version.code !== 0) this.skip();
      const cliVersion = /aws-cli\/(\d)/.exec(version.stdout + version.stderr)?.[1] ?? "x";
      const jobId = `cli-v${cliVersion}-reboot`;
      const created = await awsCli(core, "iot", ["create-job", "--job-id", jobId, "--targets", `arn:aws:iot:${core.region}:${core.accountId}:thing/cli-device`,
        "--document", JSON.stringify({ operation: "reboot" }), "--target-selection", "SNAPSHOT", "--timeout-config", "inProgressTimeoutInMinutes=30"], { command });
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.json.jobId, jobId);
      const execution = await followExecution(core, command, jobId, "cli-device");
      assert.equal(execution.status, "SUCCEEDED");
      assert.deepEqual(execution.statusDetails, { detailsMap: { result: "reboot done" } });
      const job = await awsCli(core, "iot", ["describe-job", "--job-id", jobId], { command });
      assert.equal(job.json.job.status, "COMPLETED");
      assert.equal(job.json.job.jobProcessDetails.numberOfSucceededThings, 1);
    });
  }

  it("a job whose operation the device does not know is REJECTED with the reason, as describe-job-execution shows", async function () {
    if ((await run("/usr/bin/aws", ["--version"])).code !== 0) this.skip();
    const created = await awsCli(core, "iot", ["create-job", "--job-id", "cli-unknown", "--targets", `arn:aws:iot:${core.region}:${core.accountId}:thing/cli-device`,
      "--document", JSON.stringify({ operation: "self-destruct" })], { command: "/usr/bin/aws" });
    assert.equal(created.code, 0, created.stderr);
    const execution = await followExecution(core, "/usr/bin/aws", "cli-unknown", "cli-device");
    assert.equal(execution.status, "REJECTED");
    assert.deepEqual(execution.statusDetails, { detailsMap: { reason: "unknown operation 'self-destruct'" } });
    const listed = await awsCli(core, "iot", ["list-job-executions-for-job", "--job-id", "cli-unknown"], { command: "/usr/bin/aws" });
    assert.equal(listed.json.executionSummaries[0].jobExecutionSummary.status, "REJECTED");
  });
});
