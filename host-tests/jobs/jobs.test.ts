// IoT Jobs in the stand-in, through clients we did not write: @aws-sdk/client-iot on the control
// plane and mqtt.js as the device speaking AWS's documented Jobs MQTT API.
import assert from "node:assert/strict";
import {
  AddThingToThingGroupCommand, CancelJobCommand, CancelJobExecutionCommand, CreateJobCommand, CreateThingGroupCommand, DeleteJobCommand,
  DescribeJobCommand, DescribeJobExecutionCommand, GetJobDocumentCommand, ListJobExecutionsForJobCommand, ListJobExecutionsForThingCommand,
  ListJobsCommand, RemoveThingFromThingGroupCommand, type IoTClient,
} from "@aws-sdk/client-iot";
import type { IotCore } from "../../host/iotcore/index.js";
import { closed, endClient, iotClient, registeredDevice, sdkError, startCore, subscribeCodes, tempDir, waitFor, connectMtls } from "../iotcore/helpers.js";
import { jobsPolicy, TestDevice } from "./device.js";

const MINUTE_MS = 200;

describe("IoT Jobs (stand-in) with @aws-sdk/client-iot and mqtt.js devices", function () {
  this.timeout(60_000);
  let dir: ReturnType<typeof tempDir>;
  let core: IotCore & { lines: string[] };
  let iot: IoTClient;
  const devices: TestDevice[] = [];
  const thingArn = (thing: string) => `arn:aws:iot:${core.region}:${core.accountId}:thing/${thing}`;
  const groupArn = (group: string) => `arn:aws:iot:${core.region}:${core.accountId}:thinggroup/${group}`;
  const device = async (thing: string) => {
    const d = await TestDevice.connect(core, thing);
    devices.push(d);
    return d;
  };
  const createJob = (jobId: string, targets: string[], document: object = { operation: "reboot" }, extra: Record<string, unknown> = {}) =>
    iot.send(new CreateJobCommand({ jobId, targets, document: JSON.stringify(document), ...extra }));
  const executionOf = async (jobId: string, thingName: string) => (await iot.send(new DescribeJobExecutionCommand({ jobId, thingName }))).execution!;

  before(async () => {
    dir = tempDir("jobs");
    core = await startCore(dir.path, { jobsMinuteMs: MINUTE_MS, jobsRequestsPerSecond: 1000 });
    iot = iotClient(core);
  });
  after(async () => {
    await Promise.all(devices.splice(0).map((d) => endClient(d.client)));
    iot?.destroy();
    await core?.close();
    dir?.remove();
  });

  it("a device hears notify-next, starts the job, reports progress and SUCCEEDED; describe-job-execution, counts and the job's status follow", async () => {
    const d = await device("runner");
    await createJob("run-1", [thingArn("runner")], { operation: "config", settings: { telemetryIntervalMs: 500 } }, { description: "first" });
    const next = await d.next("$aws/things/runner/jobs/notify-next");
    const announced = next.body.execution as Record<string, unknown>;
    assert.equal(announced.jobId, "run-1");
    assert.equal(announced.status, "QUEUED");
    assert.deepEqual(announced.jobDocument, { operation: "config", settings: { telemetryIntervalMs: 500 } }, "over MQTT the document is a JSON object");
    const notify = await d.next("$aws/things/runner/jobs/notify");
    assert.deepEqual(Object.keys(notify.body.jobs as object), ["QUEUED"]);

    const pending = await d.request("jobs/get");
    assert.ok(pending.accepted);
    assert.deepEqual((pending.body.queuedJobs as { jobId: string }[]).map((j) => j.jobId), ["run-1"]);
    assert.deepEqual(pending.body.inProgressJobs, []);

    const started = await d.request("jobs/start-next", { statusDetails: { step: "applying" } });
    assert.ok(started.accepted);
    const execution = started.body.execution as Record<string, unknown>;
    assert.equal(execution.status, "IN_PROGRESS");
    assert.equal(execution.versionNumber, 2);
    assert.deepEqual(execution.statusDetails, { step: "applying" });
    assert.equal(typeof started.body.timestamp, "number");
    assert.equal((await executionOf("run-1", "runner")).status, "IN_PROGRESS");

    const described = await d.request("jobs/run-1/get", { includeJobDocument: false });
    assert.ok(described.accepted);
    assert.equal((described.body.execution as Record<string, unknown>).jobDocument, undefined);
    const viaNext = await d.request("jobs/$next/get");
    assert.equal((viaNext.body.execution as Record<string, unknown>).jobId, "run-1");

    const done = await d.request("jobs/run-1/update", { status: "SUCCEEDED", expectedVersion: 2, statusDetails: { result: "applied" }, includeJobExecutionState: true, includeJobDocument: true });
    assert.ok(done.accepted, JSON.stringify(done.body));
    assert.deepEqual(done.body.executionState, { status: "SUCCEEDED", statusDetails: { result: "applied" }, versionNumber: 3 });
    assert.deepEqual(done.body.jobDocument, { operation: "config", settings: { telemetryIntervalMs: 500 } });
    const emptied = await d.next("$aws/things/runner/jobs/notify-next", (b) => b.execution === undefined);
    assert.equal(typeof emptied.body.timestamp, "number");

    const final = await executionOf("run-1", "runner");
    assert.equal(final.status, "SUCCEEDED");
    assert.deepEqual(final.statusDetails?.detailsMap, { result: "applied" });
    assert.equal(final.versionNumber, 3);
    assert.equal(final.thingArn, thingArn("runner"));
    const job = (await iot.send(new DescribeJobCommand({ jobId: "run-1" }))).job!;
    assert.equal(job.status, "COMPLETED");
    assert.equal(job.jobProcessDetails?.numberOfSucceededThings, 1);
    assert.equal(job.jobProcessDetails?.numberOfQueuedThings, 0);
    assert.ok(job.completedAt instanceof Date);
    assert.equal((await iot.send(new GetJobDocumentCommand({ jobId: "run-1" }))).document, JSON.stringify({ operation: "config", settings: { telemetryIntervalMs: 500 } }));
    const listed = await iot.send(new ListJobExecutionsForThingCommand({ thingName: "runner" }));
    assert.deepEqual(listed.executionSummaries?.map((s) => [s.jobId, s.jobExecutionSummary?.status]), [["run-1", "SUCCEEDED"]]);
  });

  it("answers each error code on /rejected with the clientToken: InvalidTopic, InvalidJson, InvalidRequest, ResourceNotFound, VersionMismatch, InvalidStateTransition, TerminalStateReached", async () => {
    const d = await device("strict");
    await createJob("strict-1", [thingArn("strict")]);
    await d.next("$aws/things/strict/jobs/notify-next");

    const topic = await d.request("jobs/strict-1/frobnicate");
    assert.equal(topic.body.code, "InvalidTopic");
    const json = await d.request("jobs/get", "{not json");
    assert.equal(json.body.code, "InvalidJson");
    const status = await d.request("jobs/strict-1/update", { status: "DONE" });
    assert.deepEqual([status.accepted, status.body.code], [false, "InvalidRequest"]);
    assert.match(String(status.body.message), /status must be one of/);
    assert.equal(typeof status.body.clientToken, "string");
    const details = await d.request("jobs/strict-1/update", { status: "IN_PROGRESS", statusDetails: { n: 5 } });
    assert.equal(details.body.code, "InvalidRequest");
    const timer = await d.request("jobs/start-next", { stepTimeoutInMinutes: 0 });
    assert.equal(timer.body.code, "InvalidRequest");
    const token = await d.request("jobs/get", JSON.stringify({ clientToken: "x".repeat(65) }));
    assert.equal(token.body.code, "InvalidRequest");
    const missing = await d.request("jobs/no-such-job/update", { status: "IN_PROGRESS" });
    assert.equal(missing.body.code, "ResourceNotFound");
    const missingGet = await d.request("jobs/no-such-job/get");
    assert.equal(missingGet.body.code, "ResourceNotFound");

    const started = await d.request("jobs/strict-1/update", { status: "IN_PROGRESS", expectedVersion: 1 });
    assert.ok(started.accepted);
    const stale = await d.request("jobs/strict-1/update", { status: "SUCCEEDED", expectedVersion: 1 });
    assert.equal(stale.body.code, "VersionMismatch");
    assert.deepEqual(stale.body.executionState, { status: "IN_PROGRESS", versionNumber: 2 });

    assert.ok((await d.request("jobs/strict-1/update", { status: "FAILED", statusDetails: { reason: "disk full" } })).accepted);
    const again = await d.request("jobs/strict-1/update", { status: "IN_PROGRESS" });
    assert.equal(again.body.code, "InvalidStateTransition");
    assert.deepEqual(again.body.executionState, { status: "FAILED", statusDetails: { reason: "disk full" }, versionNumber: 3 });
    const terminal = await d.request("jobs/strict-1/get");
    assert.equal(terminal.body.code, "TerminalStateReached");
    const none = await d.request("jobs/start-next");
    assert.deepEqual([none.accepted, none.body.execution], [true, undefined]);
  });

  it("a device's policy keeps it to its own jobs topics: another thing's are refused at SUBSCRIBE and PUBLISH", async () => {
    const victim = await device("victim");
    await createJob("victim-1", [thingArn("victim")]);
    await victim.next("$aws/things/victim/jobs/notify-next");
    const issued = await registeredDevice(core, "intruder", [jobsPolicy(core.region, core.accountId, "intruder")], "intruder");
    const { client } = await connectMtls(core, issued, { clientId: "intruder" });
    try {
      assert.deepEqual(await subscribeCodes(client, {
        "$aws/things/victim/jobs/notify-next": { qos: 1 }, "$aws/things/victim/jobs/start-next/accepted": { qos: 1 }, "$aws/things/intruder/jobs/#": { qos: 1 },
      }), [0x80, 0x80, 1]);
      client.publish("$aws/things/victim/jobs/victim-1/update", JSON.stringify({ status: "SUCCEEDED" }));
      assert.ok(await closed(client), "publishing on another thing's jobs topic closes the connection");
    } finally {
      await endClient(client);
    }
    assert.equal((await executionOf("victim-1", "victim")).status, "QUEUED");
    assert.ok(core.lines.some((l) => /publish denied: client intruder topic \$aws\/things\/victim\/jobs\/victim-1\/update/.test(l)));
  });

  it("a step timer and a job's in-progress timer each end the execution as TIMED_OUT", async () => {
    const d = await device("sleepy");
    await createJob("step-1", [thingArn("sleepy")]);
    await createJob("progress-1", [thingArn("sleepy")], { operation: "reboot" }, { timeoutConfig: { inProgressTimeoutInMinutes: 2 } });
    const step = await d.request("jobs/step-1/update", { status: "IN_PROGRESS", stepTimeoutInMinutes: 1 });
    assert.ok(step.accepted);
    const described = await executionOf("step-1", "sleepy");
    assert.equal(typeof described.approximateSecondsBeforeTimedOut, "number");
    assert.ok(await waitFor(() => core.jobs.jobs.execution("step-1", "sleepy").status === "TIMED_OUT", 5000), "the step timer fired");
    assert.ok((await d.request("jobs/progress-1/update", { status: "IN_PROGRESS" })).accepted);
    assert.ok(await waitFor(() => core.jobs.jobs.execution("progress-1", "sleepy").status === "TIMED_OUT", 5000), "the in-progress timer fired");
    const late = await d.request("jobs/progress-1/update", { status: "SUCCEEDED" });
    assert.equal(late.body.code, "InvalidStateTransition");
    assert.equal((await iot.send(new DescribeJobCommand({ jobId: "step-1" }))).job?.jobProcessDetails?.numberOfTimedOutThings, 1);
    assert.ok(core.lines.some((l) => /step-1 on sleepy TIMED_OUT \(step timer\)/.test(l)));
  });

  it("a CONTINUOUS job reaches things added to its group later; a thing leaving the group has its QUEUED execution REMOVED", async () => {
    await iot.send(new CreateThingGroupCommand({ thingGroupName: "fleet" }));
    const early = await device("early");
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: "fleet", thingName: "early" }));
    await createJob("cont-1", [groupArn("fleet")], { operation: "reboot" }, { targetSelection: "CONTINUOUS" });
    await createJob("snap-1", [groupArn("fleet")], { operation: "reboot" }, { targetSelection: "SNAPSHOT" });
    await early.next("$aws/things/early/jobs/notify-next");
    const late = await device("late");
    await iot.send(new AddThingToThingGroupCommand({ thingGroupName: "fleet", thingName: "late" }));
    const next = await late.next("$aws/things/late/jobs/notify-next");
    assert.equal((next.body.execution as Record<string, unknown>).jobId, "cont-1");
    assert.deepEqual((await iot.send(new ListJobExecutionsForThingCommand({ thingName: "late" }))).executionSummaries?.map((s) => s.jobId), ["cont-1"],
      "the snapshot job does not reach a later member");
    await iot.send(new RemoveThingFromThingGroupCommand({ thingGroupName: "fleet", thingName: "late" }));
    assert.equal((await executionOf("cont-1", "late")).status, "REMOVED");
    await late.next("$aws/things/late/jobs/notify-next", (b) => b.execution === undefined);
    assert.ok((await early.request("jobs/cont-1/update", { status: "SUCCEEDED" })).accepted);
    assert.equal((await iot.send(new DescribeJobCommand({ jobId: "cont-1" }))).job?.status, "IN_PROGRESS", "a continuous job never completes by itself");
    const forJob = await iot.send(new ListJobExecutionsForJobCommand({ jobId: "cont-1" }));
    assert.deepEqual(forJob.executionSummaries?.map((s) => [s.thingArn, s.jobExecutionSummary?.status]), [[thingArn("early"), "SUCCEEDED"], [thingArn("late"), "REMOVED"]]);
  });

  it("cancel-job cancels QUEUED executions and leaves IN_PROGRESS ones unless forced; cancel-job-execution, delete-job and version checks answer as AWS", async () => {
    const a = await device("cancel-a");
    const b = await device("cancel-b");
    await createJob("cancel-1", [thingArn("cancel-a"), thingArn("cancel-b")]);
    await a.next("$aws/things/cancel-a/jobs/notify-next");
    assert.ok((await a.request("jobs/start-next")).accepted);
    await iot.send(new CancelJobCommand({ jobId: "cancel-1", reasonCode: "superseded", comment: "new build" }));
    assert.equal((await executionOf("cancel-1", "cancel-b")).status, "CANCELED");
    assert.equal((await executionOf("cancel-1", "cancel-a")).status, "IN_PROGRESS");
    await b.next("$aws/things/cancel-b/jobs/notify-next", (body) => body.execution === undefined);
    const job = (await iot.send(new DescribeJobCommand({ jobId: "cancel-1" }))).job!;
    assert.deepEqual([job.status, job.reasonCode, job.comment, job.forceCanceled], ["CANCELED", "superseded", "new build", false]);
    assert.equal((await sdkError(iot.send(new CancelJobCommand({ jobId: "cancel-1" })))).name, "InvalidStateTransitionException");
    await iot.send(new CancelJobCommand({ jobId: "cancel-1", force: true }));
    const forced = await executionOf("cancel-1", "cancel-a");
    assert.deepEqual([forced.status, forced.forceCanceled], ["CANCELED", true]);
    const refused = await a.request("jobs/cancel-1/update", { status: "SUCCEEDED" });
    assert.equal(refused.body.code, "InvalidStateTransition");

    await createJob("cancel-2", [thingArn("cancel-a")]);
    assert.equal((await sdkError(iot.send(new CancelJobExecutionCommand({ jobId: "cancel-2", thingName: "cancel-a", expectedVersion: 7 })))).name, "VersionConflictException");
    assert.ok((await a.request("jobs/cancel-2/update", { status: "IN_PROGRESS" })).accepted);
    const notForced = await sdkError(iot.send(new CancelJobExecutionCommand({ jobId: "cancel-2", thingName: "cancel-a" })));
    assert.deepEqual([notForced.name, notForced.status], ["InvalidStateTransitionException", 409]);
    await iot.send(new CancelJobExecutionCommand({ jobId: "cancel-2", thingName: "cancel-a", force: true, expectedVersion: 2 }));
    assert.equal((await executionOf("cancel-2", "cancel-a")).status, "CANCELED");
    assert.equal((await iot.send(new DescribeJobCommand({ jobId: "cancel-2" }))).job?.status, "COMPLETED");

    await createJob("delete-1", [thingArn("cancel-b")]);
    assert.equal((await sdkError(iot.send(new DeleteJobCommand({ jobId: "delete-1" })))).name, "InvalidStateTransitionException");
    await iot.send(new DeleteJobCommand({ jobId: "delete-1", force: true }));
    assert.equal((await sdkError(iot.send(new DescribeJobCommand({ jobId: "delete-1" })))).name, "ResourceNotFoundException");
    assert.equal((await b.request("jobs/delete-1/get")).body.code, "ResourceNotFound");
  });

  it("create-job refuses what AWS refuses: a taken id, unknown targets, a non-JSON document, a document in S3, a timeout out of range", async () => {
    await createJob("taken", [thingArn("runner")]);
    const cases: [Promise<unknown>, string, RegExp][] = [
      [createJob("taken", [thingArn("runner")]), "ResourceAlreadyExistsException", /already exists/],
      [createJob("ghost", [thingArn("nobody")]), "ResourceNotFoundException", /nobody/],
      [createJob("ghost", [groupArn("nogroup")]), "ResourceNotFoundException", /nogroup/],
      [iot.send(new CreateJobCommand({ jobId: "bad-doc", targets: [thingArn("runner")], document: "not json" })), "InvalidRequestException", /JSON object/],
      [iot.send(new CreateJobCommand({ jobId: "s3-doc", targets: [thingArn("runner")], documentSource: "https://s3.amazonaws.com/b/k" })), "InvalidRequestException", /documentSource/],
      [createJob("slow", [thingArn("runner")], { operation: "reboot" }, { timeoutConfig: { inProgressTimeoutInMinutes: 10081 } }), "InvalidRequestException", /1 to 10080/],
      [createJob("bad id!", [thingArn("runner")]), "InvalidRequestException", /jobId/],
    ];
    for (const [call, name, message] of cases) {
      const error = await sdkError(call);
      assert.equal(error.name, name);
      assert.match(error.message, message);
    }
    const listed = await iot.send(new ListJobsCommand({ status: "IN_PROGRESS", maxResults: 250 }));
    assert.ok(listed.jobs?.some((j) => j.jobId === "taken" && j.targetSelection === "SNAPSHOT"));
    assert.ok(!listed.jobs?.some((j) => j.status !== "IN_PROGRESS"));
  });
});

describe("IoT Jobs (stand-in) throttling and restart", function () {
  this.timeout(60_000);
  let dir: ReturnType<typeof tempDir>;
  afterEach(() => dir?.remove());

  it("answers RequestThrottled past the per-thing request rate, and keeps jobs and executions across a restart", async () => {
    dir = tempDir("jobs-throttle");
    let core = await startCore(dir.path, { jobsRequestsPerSecond: 3 });
    let iot = iotClient(core);
    const d = await TestDevice.connect(core, "busy");
    try {
      await iot.send(new CreateJobCommand({ jobId: "keep-1", targets: [`arn:aws:iot:${core.region}:${core.accountId}:thing/busy`], document: "{\"operation\":\"reboot\"}" }));
      for (let i = 0; i < 8; i++) d.client.publish("$aws/things/busy/jobs/get", JSON.stringify({ clientToken: `b${i}` }));
      assert.ok(await waitFor(() => d.seen.filter((m) => /jobs\/get\/(accepted|rejected)$/.test(m.topic)).length === 8, 5000));
      const throttled = d.seen.filter((m) => m.body.code === "RequestThrottled");
      assert.ok(throttled.length >= 1, "requests past the rate are throttled");
      assert.ok(throttled.every((m) => m.topic === "$aws/things/busy/jobs/get/rejected" && /^b\d$/.test(String(m.body.clientToken))));
    } finally {
      await endClient(d.client);
      iot.destroy();
      await core.close();
    }
    core = await startCore(dir.path);
    iot = iotClient(core);
    try {
      const execution = (await iot.send(new DescribeJobExecutionCommand({ jobId: "keep-1", thingName: "busy" }))).execution!;
      assert.deepEqual([execution.status, execution.versionNumber], ["QUEUED", 1]);
    } finally {
      iot.destroy();
      await core.close();
    }
  });
});
