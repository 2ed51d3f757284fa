// Topic rules as AWS's SQL reference and rule actions describe them, made with awscli and seen
// by an MQTT subscriber: a SELECT list with aliases and topic(), WHERE, a republish action with
// a substitution template and QoS 1, the error action, disabling, and refusals for actions the
// stand-in does not run.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { awsIot, connectMtls, endClient, registeredDevice, startCore, tempDir, waitFor } from "../iotcore/helpers.js";

type Core = Awaited<ReturnType<typeof startCore>>;

function received(client: MqttClient): { topic: string; body: unknown }[] {
  const seen: { topic: string; body: unknown }[] = [];
  client.on("message", (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString("utf8")) }));
  return seen;
}

describe("topic rules: SQL, republish and error actions (awscli, mqtt.js)", function () {
  this.timeout(120_000);
  const dir = tempDir("topic-rules");
  let core: Core;
  let client: MqttClient;
  let seen: { topic: string; body: unknown }[];
  const rule = (name: string, payload: object) => awsIot(core, ["create-topic-rule", "--rule-name", name, "--topic-rule-payload", JSON.stringify(payload)]);

  before(async () => {
    core = await startCore(join(dir.path, "state"));
    const device = await registeredDevice(core, "rules-device");
    ({ client } = await connectMtls(core, device, { clientId: "rules-device" }));
    seen = received(client);
    await client.subscribeAsync(["alerts/#", "errors/#"], { qos: 1 });
  });
  after(async () => {
    await endClient(client);
    await core?.close();
    dir.remove();
  });

  it("republishes the selected fields to a templated topic at QoS 1, only when WHERE holds", async () => {
    const made = await rule("hot_rooms", {
      sql: "SELECT color AS rgb, temperature - 50 AS over, topic(2) AS room FROM 'rooms/+/state' WHERE temperature > 50",
      actions: [{ republish: { topic: "alerts/${topic(2)}", qos: 1, roleArn: "arn:aws:iam::123456789012:role/republish" } }],
    });
    assert.equal(made.code, 0, made.stderr);
    await client.publishAsync("rooms/hall/state", JSON.stringify({ color: "blue", temperature: 40 }), { qos: 1 });
    await client.publishAsync("rooms/kitchen/state", JSON.stringify({ color: "red", temperature: 60 }), { qos: 1 });
    assert.ok(await waitFor(() => seen.length > 0, 10_000), core.lines.join("\n"));
    assert.deepEqual(seen[0], { topic: "alerts/kitchen", body: { rgb: "red", over: 10, room: "kitchen" } });
    assert.ok(core.lines.some((l) => l.includes("rule hot_rooms: rooms/kitchen/state -> republished to alerts/kitchen (QoS 1)")));
  });

  it("runs the error action with AWS's error document when an action fails", async () => {
    const made = await rule("missing_function", {
      sql: "SELECT * FROM 'jobs/+'",
      actions: [{ lambda: { functionArn: "arn:aws:lambda:us-east-1:123456789012:function:nowhere" } }],
      errorAction: { republish: { topic: "errors/${topic(2)}", qos: 0, roleArn: "arn:aws:iam::123456789012:role/republish" } },
    });
    assert.equal(made.code, 0, made.stderr);
    await client.publishAsync("jobs/7", JSON.stringify({ n: 7 }), { qos: 1 });
    assert.ok(await waitFor(() => seen.some((m) => m.topic === "errors/7"), 10_000), core.lines.join("\n"));
    const error = seen.find((m) => m.topic === "errors/7")!.body as { ruleName: string; topic: string; failures: { failedAction: string; errorMessage: string }[] };
    assert.equal(error.ruleName, "missing_function");
    assert.equal(error.topic, "jobs/7");
    assert.equal(error.failures[0]!.failedAction, "lambda");
    assert.match(error.failures[0]!.errorMessage, /no function/);
  });

  it("refuses actions it does not run and SQL functions it does not have, saying so rather than blaming the SQL", async () => {
    const s3 = await rule("to_s3", { sql: "SELECT * FROM 'a/b'", actions: [{ s3: { bucketName: "b", key: "k", roleArn: "arn:aws:iam::123456789012:role/r" } }] });
    assert.match(s3.stderr, /\(InvalidRequestException\).*the s3 action is not run by this stand-in/);
    const fn = await rule("upper", { sql: "SELECT upper(name) AS n FROM 'a/b'", actions: [] });
    assert.match(fn.stderr, /\(InvalidRequestException\).*this stand-in does not run the function upper\(\)/);
    const bad = await rule("bad_sql", { sql: "SELECT * FROM a/b", actions: [] });
    assert.match(bad.stderr, /\(SqlParseException\)/);
  });

  it("stops running a disabled rule", async () => {
    assert.equal((await awsIot(core, ["disable-topic-rule", "--rule-name", "hot_rooms"])).code, 0);
    const before = seen.length;
    await client.publishAsync("rooms/attic/state", JSON.stringify({ color: "green", temperature: 90 }), { qos: 1 });
    await client.publishAsync("jobs/8", JSON.stringify({ n: 8 }), { qos: 1 });
    assert.ok(await waitFor(() => seen.some((m) => m.topic === "errors/8"), 10_000));
    assert.equal(seen.slice(before).some((m) => m.topic === "alerts/attic"), false, "the disabled rule republished");
  });
});
