// The stand-in's Device Shadow service seen through clients we did not write: the AWS CLI's
// `aws iot-data` on the HTTPS data endpoint, and mqtt.js speaking AWS's documented topics.
import assert from "node:assert/strict";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { devicePolicy } from "../../certs/template.js";
import type { IotCore } from "../../host/iotcore/index.js";
import { awsEnv, closed, connectMtls, endClient, registeredDevice, run, startCore, subscribeCodes, tempDir, waitFor } from "../iotcore/helpers.js";

const SECRET = "shadow-test-secret";
const POLICY = JSON.stringify(devicePolicy("us-east-1", "123456789012"));

// AWS CLI v2 reads blob arguments as base64 unless told otherwise; v1 takes them as text.
let binaryFormat: string[] | undefined;
async function blobArguments(): Promise<string[]> {
  binaryFormat ??= /^aws-cli\/1\./.test((await run("aws", ["--version"])).stdout + (await run("aws", ["--version"])).stderr) ? [] : ["--cli-binary-format", "raw-in-base64-out"];
  return binaryFormat;
}

/** `aws iot-data <args>` against the stand-in's 443 listener; an outfile argument is read back as JSON. */
async function iotData(core: IotCore, dir: string, args: string[], env: Record<string, string> = {}) {
  const caFile = join(dir, "server-ca.pem");
  writeFileSync(caFile, core.serverCaPem);
  const outIndex = args.findIndex((a) => a.endsWith(".out.json"));
  const result = await run("aws", ["iot-data", ...args, "--endpoint-url", `https://localhost:${core.ports.https}`, "--ca-bundle", caFile,
    ...await blobArguments(), "--output", "json"],
  { env: { ...awsEnv(core), ...env }, timeoutMs: 30000 });
  let out: Record<string, unknown> | undefined;
  if (result.code === 0 && outIndex >= 0) out = JSON.parse(readFileSync(args[outIndex], "utf8"));
  else if (result.code === 0 && result.stdout.trim()) out = JSON.parse(result.stdout);
  return { ...result, out };
}

/** Messages the client receives, in arrival order (an empty payload reads as {}). */
function collect(client: MqttClient): { topic: string; body: Record<string, unknown> }[] {
  const seen: { topic: string; body: Record<string, unknown> }[] = [];
  client.on("message", (topic, payload) => seen.push({ topic, body: payload.length ? JSON.parse(payload.toString()) : {} }));
  return seen;
}

async function device(core: IotCore, thing: string): Promise<MqttClient> {
  const issued = await registeredDevice(core, thing, [POLICY], thing);
  const { client, connack } = await connectMtls(core, issued, { clientId: thing });
  assert.equal(connack?.returnCode ?? 0, 0);
  return client;
}

describe("Device Shadow service (stand-in) with aws iot-data and mqtt.js", function () {
  this.timeout(120_000);
  let dir: ReturnType<typeof tempDir>;
  let core: IotCore & { lines: string[] };
  const clients: MqttClient[] = [];

  beforeEach(async () => {
    dir = tempDir("shadow");
    core = await startCore(dir.path, { credentials: { AKIDEXAMPLE: SECRET } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(endClient));
    await core.close();
    dir.remove();
  });

  it("a desired change made with aws iot-data reaches the device as a delta; its MQTT report shows in get-thing-shadow", async () => {
    const client = await device(core, "dev1");
    clients.push(client);
    const seen = collect(client);
    assert.deepEqual(await subscribeCodes(client, { "$aws/things/dev1/shadow/#": { qos: 1 } }), [1]);

    client.publish("$aws/things/dev1/shadow/get", JSON.stringify({ clientToken: "g0" }));
    assert.ok(await waitFor(() => seen.some((m) => m.topic.endsWith("/get/rejected"))));
    const missing = seen.find((m) => m.topic === "$aws/things/dev1/shadow/get/rejected")!.body;
    assert.equal(missing.code, 404);
    assert.equal(missing.message, "No shadow exists with name: 'dev1'");
    assert.equal(missing.clientToken, "g0");

    const out = join(dir.path, "update.out.json");
    const updated = await iotData(core, dir.path, ["update-thing-shadow", "--thing-name", "dev1", "--payload", JSON.stringify({ state: { desired: { telemetryIntervalMs: 2000 } } }), out]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual((updated.out!.state as object), { desired: { telemetryIntervalMs: 2000 } });
    assert.equal(updated.out!.version, 1);

    assert.ok(await waitFor(() => seen.some((m) => m.topic === "$aws/things/dev1/shadow/update/delta")));
    const delta = seen.find((m) => m.topic === "$aws/things/dev1/shadow/update/delta")!.body;
    assert.deepEqual(delta.state, { telemetryIntervalMs: 2000 });
    assert.equal(delta.version, 1);
    assert.ok(seen.some((m) => m.topic === "$aws/things/dev1/shadow/update/documents"));

    client.publish("$aws/things/dev1/shadow/update", JSON.stringify({ state: { reported: { telemetryIntervalMs: 2000 } }, clientToken: "r1", version: 1 }));
    assert.ok(await waitFor(() => seen.some((m) => m.topic.endsWith("/update/accepted"))));
    const accepted = seen.find((m) => m.topic === "$aws/things/dev1/shadow/update/accepted")!.body;
    assert.equal(accepted.version, 2);
    assert.equal(accepted.clientToken, "r1");

    const got = await iotData(core, dir.path, ["get-thing-shadow", "--thing-name", "dev1", join(dir.path, "get.out.json")]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(got.out!.state, { desired: { telemetryIntervalMs: 2000 }, reported: { telemetryIntervalMs: 2000 } });
    assert.equal(got.out!.version, 2);

    // The same document over MQTT as over HTTP (the timestamp is the time of the answer).
    client.publish("$aws/things/dev1/shadow/get", "");
    assert.ok(await waitFor(() => seen.some((m) => m.topic === "$aws/things/dev1/shadow/get/accepted")));
    const viaMqtt = seen.find((m) => m.topic === "$aws/things/dev1/shadow/get/accepted")!.body;
    assert.deepEqual({ ...viaMqtt, timestamp: 0 }, { ...got.out, timestamp: 0 });
  });

  it("named shadows are separate documents, listed by list-named-shadows-for-thing, deleted by delete-thing-shadow", async () => {
    const client = await device(core, "dev2");
    clients.push(client);
    const seen = collect(client);
    await subscribeCodes(client, { "$aws/things/dev2/shadow/name/+/update/accepted": { qos: 1 } });
    client.publish("$aws/things/dev2/shadow/name/settings/update", JSON.stringify({ state: { reported: { a: 1 } } }));
    client.publish("$aws/things/dev2/shadow/name/lamp/update", JSON.stringify({ state: { reported: { on: true } } }));
    assert.ok(await waitFor(() => seen.length === 2));

    const listed = await iotData(core, dir.path, ["list-named-shadows-for-thing", "--thing-name", "dev2"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.out!.results, ["lamp", "settings"]);
    const classic = await iotData(core, dir.path, ["get-thing-shadow", "--thing-name", "dev2", join(dir.path, "c.out.json")]);
    assert.match(classic.stderr, /ResourceNotFoundException.*No shadow exists with name: 'dev2'/);

    const deleted = await iotData(core, dir.path, ["delete-thing-shadow", "--thing-name", "dev2", "--shadow-name", "lamp", join(dir.path, "d.out.json")]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.out!.version, 1);
    const again = await iotData(core, dir.path, ["get-thing-shadow", "--thing-name", "dev2", "--shadow-name", "lamp", join(dir.path, "g.out.json")]);
    assert.match(again.stderr, /ResourceNotFoundException.*No shadow exists with name: 'lamp'/);
    assert.deepEqual((await iotData(core, dir.path, ["list-named-shadows-for-thing", "--thing-name", "dev2"])).out!.results, ["settings"]);
  });

  it("answers each REST error with AWS's status and message: 400, 401, 403, 404, 409, 413, 415", async () => {
    const update = (payload: string, extra: string[] = [], env: Record<string, string> = {}) =>
      iotData(core, dir.path, ["update-thing-shadow", "--thing-name", "dev3", "--payload", payload, ...extra, join(dir.path, "e.out.json")], env);
    assert.match((await update("{\"nostate\":1}")).stderr, /\(InvalidRequestException\).*Missing required node: state/);
    assert.match((await update("{not json")).stderr, /\(InvalidRequestException\).*Invalid JSON/);
    assert.equal((await update(JSON.stringify({ state: { reported: { a: 1 } } }))).code, 0);
    assert.match((await update(JSON.stringify({ state: { reported: { a: 2 } }, version: 7 }))).stderr, /\(ConflictException\).*Version conflict/);
    assert.match((await update(JSON.stringify({ state: { reported: { big: "x".repeat(9000) } } }))).stderr, /\(RequestEntityTooLargeException\).*maximum size/);
    const latin1 = join(dir.path, "latin1.json");
    writeFileSync(latin1, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    assert.match((await update(`fileb://${latin1}`)).stderr, /\(UnsupportedDocumentEncodingException\).*UTF-8/);
    assert.match((await iotData(core, dir.path, ["get-thing-shadow", "--thing-name", "nobody", join(dir.path, "n.out.json")])).stderr, /\(ResourceNotFoundException\)/);
    assert.match((await update("{}", [], { AWS_ACCESS_KEY_ID: "AKIDUNKNOWN", AWS_SECRET_ACCESS_KEY: SECRET })).stderr, /\(UnrecognizedClientException\)/);
    assert.match((await update("{}", [], { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "wrong-secret" })).stderr, /\(InvalidSignatureException\)|\(ForbiddenException\)/);
  });

  it("over MQTT, rejects with the error document on /rejected (400, 404, 409) and 429 past 10 requests in flight", async () => {
    const client = await device(core, "dev4");
    clients.push(client);
    const seen = collect(client);
    await subscribeCodes(client, { "$aws/things/dev4/shadow/+/rejected": { qos: 1 }, "$aws/things/dev4/shadow/+/accepted": { qos: 1 } });
    client.publish("$aws/things/dev4/shadow/update", JSON.stringify({ state: { desired: 5 }, clientToken: "bad" }));
    client.publish("$aws/things/dev4/shadow/delete", "");
    assert.ok(await waitFor(() => seen.length === 2));
    assert.deepEqual(seen.map((m) => [m.topic, m.body.code, m.body.message]), [
      ["$aws/things/dev4/shadow/update/rejected", 400, "Desired node must be an object"],
      ["$aws/things/dev4/shadow/delete/rejected", 404, "No shadow exists with name: 'dev4'"],
    ]);
    assert.equal(seen[0].body.clientToken, "bad");
    assert.equal(typeof seen[0].body.timestamp, "number");
    seen.length = 0;
    client.publish("$aws/things/dev4/shadow/update", JSON.stringify({ state: { reported: { n: 0 } }, version: 3 }));
    assert.ok(await waitFor(() => seen.length === 1));
    assert.deepEqual([seen[0].body.code, seen[0].body.message], [409, "Version conflict"]);
    seen.length = 0;

    // Twenty requests in one burst: the service holds each until it is stored and answered.
    for (let i = 0; i < 20; i++) client.publish("$aws/things/dev4/shadow/update", JSON.stringify({ state: { reported: { n: i } }, clientToken: `b${i}` }));
    assert.ok(await waitFor(() => seen.length === 20, 10_000));
    const throttled = seen.filter((m) => m.body.code === 429);
    assert.ok(throttled.length > 0, "some requests past the tenth in flight are refused");
    assert.ok(throttled.every((m) => m.topic === "$aws/things/dev4/shadow/update/rejected" && /^b\d+$/.test(String(m.body.clientToken))));
    assert.ok(seen.filter((m) => m.topic.endsWith("/accepted")).length >= 10);
  });

  it("a device's policy lets it use its own shadows only: another thing's topics are refused", async () => {
    const other = await device(core, "victim");
    clients.push(other);
    const otherSeen = collect(other);
    await subscribeCodes(other, { "$aws/things/victim/shadow/#": { qos: 1 } });
    const client = await device(core, "intruder");
    clients.push(client);
    assert.deepEqual(await subscribeCodes(client, {
      "$aws/things/victim/shadow/get/accepted": { qos: 1 },
      "$aws/things/victim/shadow/update/delta": { qos: 1 },
      "$aws/things/intruder/shadow/get/accepted": { qos: 1 },
    }), [0x80, 0x80, 1]);
    client.publish("$aws/things/victim/shadow/update", JSON.stringify({ state: { desired: { evil: true } } }));
    assert.ok(await closed(client), "publishing to another thing's shadow closes the connection");
    assert.equal(await iotData(core, dir.path, ["get-thing-shadow", "--thing-name", "victim", join(dir.path, "v.out.json")]).then((r) => r.code === 0), false);
    assert.equal(otherSeen.length, 0);
    assert.ok(core.lines.some((l) => /publish denied: client intruder topic \$aws\/things\/victim\/shadow\/update/.test(l)));
  });

  it("keeps shadows across a restart and deletes them with the thing", async () => {
    assert.equal((await iotData(core, dir.path, ["update-thing-shadow", "--thing-name", "keep", "--payload", JSON.stringify({ state: { reported: { a: 1 } } }), join(dir.path, "k.out.json")])).code, 0);
    core.registry.createThing({ thingName: "keep" });
    await core.close();
    core = await startCore(dir.path, { credentials: { AKIDEXAMPLE: SECRET } });
    const got = await iotData(core, dir.path, ["get-thing-shadow", "--thing-name", "keep", join(dir.path, "k2.out.json")]);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(got.out!.state, { reported: { a: 1 } });
    const removed = await run("aws", ["iot", "delete-thing", "--thing-name", "keep", "--endpoint-url", core.controlUrl], { env: awsEnv(core), timeoutMs: 30000 });
    assert.equal(removed.code, 0, removed.stderr);
    assert.match((await iotData(core, dir.path, ["get-thing-shadow", "--thing-name", "keep", join(dir.path, "k3.out.json")])).stderr, /ResourceNotFoundException/);
  });
});
