// The firmware's Device Shadow feature against the stand-in: an operator changes desired
// settings with `aws iot-data` (AWS's own CLI), the device applies, persists and reports them;
// a plain mqtt.js client on AWS's documented topics reads the same document the CLI does.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { CONFIG_KEY } from "../../firmware/boot/boot.js";
import shadowFeature from "../../firmware/features/shadow.js";
import { prepareDemo } from "../../host/cli/demo-setup.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { awsEnv, registeredDevice, run } from "../iotcore/helpers.js";
import { bootDevice, startBench, type Bench, type RunningDevice } from "../provisioning/device-run.js";

type Shadow = { version: number; state: { desired?: Record<string, unknown>; reported?: Record<string, unknown>; delta?: Record<string, unknown> } };

describe("Device Shadow feature (firmware) with the stand-in", function () {
  this.timeout(90_000);
  let bench: Bench;
  const running: RunningDevice[] = [];
  before(async () => { bench = await startBench({ provisioningDelayMs: 100 }); });
  afterEach(() => { for (const r of running.splice(0)) r.device.stop(); });
  after(async () => { await bench.close(); });

  let blobArgs: string[] | undefined;
  async function iotData(args: string[]): Promise<Shadow | undefined> {
    blobArgs ??= /aws-cli\/1\./.test((await run("aws", ["--version"])).stdout + (await run("aws", ["--version"])).stderr) ? [] : ["--cli-binary-format", "raw-in-base64-out"];
    const caFile = join(bench.dir, "server-ca.pem");
    writeFileSync(caFile, bench.core.serverCaPem);
    const out = join(bench.dir, "out.json");
    const result = await run("aws", ["iot-data", ...args, ...blobArgs, "--endpoint-url", `https://localhost:${bench.core.ports.https}`, "--ca-bundle", caFile, out], { env: awsEnv(bench.core), timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(readFileSync(out, "utf8")) as Shadow;
  }
  const setDesired = (thing: string, desired: Record<string, unknown>) =>
    iotData(["update-thing-shadow", "--thing-name", thing, "--payload", JSON.stringify({ state: { desired } })]);
  const getShadow = (thing: string) => iotData(["get-thing-shadow", "--thing-name", thing]);

  async function device(thing: string) {
    const setup = await prepareDemo(bench.core, {
      mode: "mtls", provisioning: "none", outDir: join(bench.dir, "dev", thing), iotcoreStateDir: join(bench.dir, "iotcore"), thingName: thing,
      config: { telemetryIntervalMs: 1000, features: { shadow: { coalesceMs: 50 } } },
    });
    const started = bootDevice(bench, setup, [shadowFeature]);
    running.push(started);
    return started;
  }

  /** Polls the stand-in's shadow until its reported state satisfies `check` (20 s at most). */
  async function reported(thing: string, check: (reported: Record<string, unknown>) => boolean): Promise<Shadow> {
    let last: Shadow | undefined;
    for (let i = 0; i < 200; i++) {
      const outcome = await bench.core.shadows.request(thing, "", "get", new Uint8Array(0));
      last = outcome.ok ? outcome.document as unknown as Shadow : undefined;
      if (last?.state.reported && check(last.state.reported)) return last;
      await new Promise((wake) => setTimeout(wake, 100));
    }
    assert.fail(`the shadow of ${thing} never reported what was expected: ${JSON.stringify(last)}`);
  }

  it("creates its shadow on first connect and reports its settings and what it is", async () => {
    await device("shadow-facts");
    const shadow = await reported("shadow-facts", (rep) => rep.telemetryIntervalMs === 1000);
    const facts = shadow.state.reported!.device as Record<string, unknown>;
    assert.equal(facts.firmware, "0.1.0");
    assert.equal(facts.mode, "mtls");
    assert.equal(typeof facts.uptimeS, "number");
    assert.equal(typeof facts.queued, "number");
    assert.equal(facts.lastFailure, undefined, "no failure yet: reported as null, which the shadow stores as no key");
    assert.deepEqual(Object.keys(shadow.state.reported!).sort(), ["device", "drainPerSecond", "logLevel", "maxInFlight", "queueLimit", "telemetryIntervalMs"]);
  });

  it("applies a desired change made with aws iot-data at once, keeps it in Preference and reports it; a reboot keeps it", async () => {
    const r = await device("shadow-apply");
    await reported("shadow-apply", (rep) => rep.telemetryIntervalMs === 1000);
    await setDesired("shadow-apply", { telemetryIntervalMs: 400, queueLimit: 50 });
    const shadow = await reported("shadow-apply", (rep) => rep.telemetryIntervalMs === 400 && rep.queueLimit === 50);
    const got = await getShadow("shadow-apply");
    assert.equal(got!.state.delta, undefined, "desired and reported agree");
    assert.ok(got!.version >= shadow.version);
    assert.ok(r.lines.some((l) => /telemetry: sampling every 400 ms/.test(l)));
    const storage = createNodePlatform({ storageDir: join(bench.dir, "storage", "shadow-apply"), log: () => {} }).storage;
    const overrides = JSON.parse(String(storage.get(CONFIG_KEY))) as Record<string, unknown>;
    assert.equal(overrides.telemetryIntervalMs, 400);
    assert.equal(overrides.queueLimit, 50);
    r.device.stop();
    // Rebooted (same storage), it starts with the applied interval before any connection.
    const again = bootDevice(bench, r.setup, [shadowFeature]);
    running.push(again);
    await again.until(() => again.lines.some((l) => /config: .*telemetry every 400 ms/.test(l)), 10_000, "the boot line");
  });

  it("applies a desired logLevel at once, keeps it in Preference and reports it; an unknown level is reported back with the reason", async () => {
    const r = await device("shadow-log");
    await reported("shadow-log", (rep) => rep.logLevel === "info");
    assert.ok(!r.lines.some((l) => /^mqtt: connecting as /.test(l)), "a debug line is dropped at info");
    await setDesired("shadow-log", { logLevel: "loud" });
    const refused = await reported("shadow-log", (rep) => rep.rejected !== undefined);
    assert.equal(refused.state.reported!.logLevel, "info");
    assert.deepEqual(refused.state.reported!.rejected, { logLevel: "config field \"logLevel\" = \"loud\" must be one of debug, info, warn, off." });
    // At warn, the line saying it was applied (info) is already dropped: applied at once.
    await setDesired("shadow-log", { logLevel: "warn" });
    await reported("shadow-log", (rep) => rep.logLevel === "warn" && rep.rejected === undefined);
    assert.ok(r.lines.some((l) => /shadow: desired logLevel = "loud" refused/.test(l)));
    assert.ok(!r.lines.some((l) => /shadow: desired logLevel = "warn" applied/.test(l)));
    await setDesired("shadow-log", { logLevel: "debug" });
    await reported("shadow-log", (rep) => rep.logLevel === "debug");
    const storage = createNodePlatform({ storageDir: join(bench.dir, "storage", "shadow-log"), log: () => {} }).storage;
    assert.equal((JSON.parse(String(storage.get(CONFIG_KEY))) as Record<string, unknown>).logLevel, "debug");
    r.device.stop();
    // Rebooted (same storage), it logs at debug from the start: the connect line shows.
    const again = bootDevice(bench, r.setup, [shadowFeature]);
    running.push(again);
    await again.until(() => again.lines.some((l) => /^mqtt: connecting as /.test(l)), 10_000, "the debug connect line");
  });

  it("does not apply an invalid desired value: it reports it back under reported.rejected with the reason", async () => {
    await device("shadow-invalid");
    await reported("shadow-invalid", (rep) => rep.telemetryIntervalMs === 1000);
    await setDesired("shadow-invalid", { telemetryIntervalMs: 5, drainPerSecond: 500, color: "red" });
    const shadow = await reported("shadow-invalid", (rep) => rep.rejected !== undefined);
    assert.equal(shadow.state.reported!.telemetryIntervalMs, 1000);
    assert.deepEqual(shadow.state.reported!.rejected, {
      telemetryIntervalMs: "config field \"telemetryIntervalMs\" = 5 must be an integer from 100 to 86400000.",
      drainPerSecond: "config field \"drainPerSecond\" = 500 must be an integer from 1 to 90.",
      color: "not a setting this device takes from its shadow (it takes telemetryIntervalMs, queueLimit, drainPerSecond, maxInFlight, logLevel)",
    });
    // Fixed by the operator: applied, and the refusal cleared.
    await setDesired("shadow-invalid", { telemetryIntervalMs: 300, drainPerSecond: null, color: null });
    const fixed = await reported("shadow-invalid", (rep) => rep.telemetryIntervalMs === 300 && rep.rejected === undefined);
    assert.equal(fixed.state.reported!.rejected, undefined);
  });

  it("a plain mqtt.js client on AWS's shadow topics gets the same document as aws iot-data get-thing-shadow", async () => {
    await device("shadow-peer");
    await reported("shadow-peer", (rep) => rep.telemetryIntervalMs === 1000);
    // The operator's own connection: a certificate with an allow-all policy (a backend), not the device's.
    const operator = await registeredDevice(bench.core, "shadow-peer-operator");
    const client = mqtt.connect({ protocol: "mqtts", host: "127.0.0.1", port: bench.core.ports.mqtt, servername: bench.core.endpoint, ca: bench.core.serverCaPem, cert: operator.certPem, key: operator.key.privateKeyPem, clientId: "shadow-peer-operator", reconnectPeriod: 0 });
    try {
      await new Promise<void>((resolve, reject) => { client.once("connect", () => resolve()); client.once("error", reject); });
      await client.subscribeAsync("$aws/things/shadow-peer/shadow/get/accepted", { qos: 1 });
      const answer = new Promise<Shadow & { timestamp: number }>((resolve) => client.once("message", (_t, payload) => resolve(JSON.parse(payload.toString()))));
      await client.publishAsync("$aws/things/shadow-peer/shadow/get", JSON.stringify({}), { qos: 1 });
      const viaMqtt = await answer;
      const viaCli = await getShadow("shadow-peer") as Shadow & { timestamp: number };
      assert.deepEqual({ ...viaMqtt, timestamp: 0 }, { ...viaCli, timestamp: 0 });
    } finally {
      await client.endAsync(true);
    }
  });
});
