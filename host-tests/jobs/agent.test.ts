// The jobs agent (firmware/features/jobs/agent.ts) against a fake of AWS IoT Jobs' device topics.
import assert from "node:assert/strict";
import jobs from "../../firmware/features/jobs.js";
import { operations, type Job } from "../../firmware/features/jobs/operations.js";
import { FakeAws } from "./fake-aws.js";

function device(): FakeAws {
  // Operations other features registered in this process (the OTA tests) are not this build's.
  for (const name in operations) delete operations[name];
  const aws = new FakeAws([jobs]);
  aws.boot();
  return aws;
}

describe("jobs agent (firmware, against a fake Jobs service)", () => {
  it("starts the queued job on connect, applies a config job's settings as the shadow would, and reports SUCCEEDED with the reason", () => {
    const aws = device();
    aws.queueJob("cfg-1", { operation: "config", settings: { telemetryIntervalMs: 750, logLevel: "warn" } });
    aws.connect();
    const execution = aws.execution("cfg-1");
    assert.equal(execution.status, "SUCCEEDED");
    assert.match(execution.statusDetails!.reason!, /applied telemetryIntervalMs=750, logLevel="warn"/);
    assert.equal(aws.config.telemetryIntervalMs, 750);
    assert.deepEqual(JSON.parse(aws.storage.get("config") as string), { telemetryIntervalMs: 750, logLevel: "warn" }, "kept for the next boot");
  });

  it("fails a config job with a value out of its rule, naming the rule, and changes nothing", () => {
    const aws = device();
    aws.connect();
    aws.queueJob("cfg-2", { operation: "config", settings: { telemetryIntervalMs: 750, queueLimit: -3 } });
    const execution = aws.execution("cfg-2");
    assert.equal(execution.status, "FAILED");
    assert.match(execution.statusDetails!.reason!, /queueLimit.*must be an integer from/);
    assert.equal(aws.config.telemetryIntervalMs, 5000, "nothing applied");
  });

  it("rejects an operation it does not carry, naming the ones it does, then takes the next job", () => {
    const aws = device();
    aws.connect();
    aws.queueJob("odd", { operation: "self-destruct" });
    aws.queueJob("cfg-3", { operation: "config", settings: { queueLimit: 20 } });
    assert.equal(aws.execution("odd").status, "REJECTED");
    assert.equal(aws.execution("odd").statusDetails!.reason, `operation "self-destruct" is not one this device carries (config, reboot)`);
    assert.equal(aws.execution("cfg-3").status, "SUCCEEDED");
  });

  it("runs one job at a time: a job queued during another waits for it", () => {
    const aws = device();
    aws.connect();
    aws.queueJob("boot-1", { operation: "reboot" });
    // The reboot restarted the device; the session is not up again yet.
    assert.equal(aws.restarts, 1);
    aws.queueJob("cfg-4", { operation: "config", settings: { queueLimit: 30 } });
    assert.equal(aws.execution("cfg-4").status, "QUEUED");
    aws.connect();
    assert.equal(aws.execution("boot-1").status, "SUCCEEDED");
    assert.equal(aws.execution("boot-1").statusDetails!.reason, "restarted and connected again");
    assert.equal(aws.execution("cfg-4").status, "SUCCEEDED");
  });

  it("reboot: reports IN_PROGRESS first, restarts only once that is accepted, and ends SUCCEEDED after the restart", () => {
    const aws = device();
    aws.connect();
    aws.queueJob("boot-2", { operation: "reboot" });
    assert.deepEqual(aws.updates.map((u) => u.body.status), ["IN_PROGRESS"]);
    assert.equal(aws.restarts, 1);
    assert.equal(aws.execution("boot-2").status, "IN_PROGRESS");
    aws.connect();
    assert.deepEqual(aws.updates.map((u) => u.body.status), ["IN_PROGRESS", "SUCCEEDED"]);
  });

  it("sends a report again on the next session when it was lost with the connection, and not once it is accepted", () => {
    const aws = device();
    aws.lose = (topic, body) => topic.endsWith("/cfg-5/update") && aws.updates.length === 0 && body.status === "SUCCEEDED";
    aws.connect();
    aws.queueJob("cfg-5", { operation: "config", settings: { queueLimit: 40 } });
    assert.equal(aws.online, false, "the report was lost with the session");
    assert.equal(aws.execution("cfg-5").status, "IN_PROGRESS");
    aws.lose = () => false;
    aws.connect();
    assert.equal(aws.execution("cfg-5").status, "SUCCEEDED");
    assert.equal(aws.updates.length, 1);
    aws.drop();
    aws.connect();
    assert.equal(aws.updates.length, 1, "nothing sent again once accepted");
  });

  it("asks again a second or two later when the service answers RequestThrottled, for start-next and for a report", () => {
    const aws = device();
    aws.connect();
    let startNext = 1, update = 1;
    aws.throttle = (topic) => (topic.endsWith("/start-next") ? startNext-- > 0 : update-- > 0);
    aws.queueJob("cfg-8", { operation: "config", settings: { queueLimit: 60 } });
    assert.equal(aws.execution("cfg-8").status, "QUEUED", "start-next was throttled");
    aws.time.advance(2000);
    aws.flush();
    assert.equal(aws.execution("cfg-8").status, "IN_PROGRESS", "started; its report was throttled");
    aws.time.advance(2000);
    aws.flush();
    assert.equal(aws.execution("cfg-8").status, "SUCCEEDED");
    assert.ok(aws.time.lines.some((l) => /start-next refused: RequestThrottled/.test(l)));
  });

  it("runs an operation an optional module registered, and drops it when the service refuses its report (canceled: TerminalStateReached), then takes the next", () => {
    let stopped = 0;
    let job: Job | undefined;
    const aws = device();
    operations.wait = (started) => {
      job = started;
      started.progress({ step: "waiting" });
      return { stop: () => void stopped++ };
    };
    try {
      aws.connect();
      aws.queueJob("slow", { operation: "wait" });
      assert.equal(aws.execution("slow").status, "IN_PROGRESS");
      assert.deepEqual(aws.execution("slow").statusDetails, { step: "waiting" });
      aws.queueJob("cfg-7", { operation: "config", settings: { queueLimit: 50 } });
      assert.equal(aws.execution("cfg-7").status, "QUEUED", "waits for the running job");
      aws.execution("slow").status = "CANCELED";
      job!.progress({ step: "still waiting" });
      aws.flush();
      assert.equal(stopped, 1, "the operation was stopped");
      assert.equal(aws.execution("cfg-7").status, "SUCCEEDED");
    } finally {
      delete operations.wait;
    }
  });
});
