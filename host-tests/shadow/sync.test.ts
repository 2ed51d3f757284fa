import assert from "node:assert/strict";
import { mustBe, invalidField, CONFIG_FIELDS } from "../../firmware/config/config.js";
import { startShadowSync, type ShadowPort } from "../../firmware/features/shadow/sync.js";
import { FakeTime } from "../support/fake-time.js";

const BASE = "$aws/things/dev1/shadow";
const SETTABLE = ["telemetryIntervalMs", "drainPerSecond"] as const;

/** A port over a fake session: records publishes, applies settings with the config's rules. */
function harness(options: { reportsPerMinute?: number; coalesceMs?: number } = {}) {
  const time = new FakeTime();
  const published: { topic: string; body: Record<string, unknown> }[] = [];
  const settings: Record<string, unknown> = { telemetryIntervalMs: 5000, drainPerSecond: 10 };
  const kept: Record<string, unknown> = {};
  let up: (() => void) | undefined;
  let down: (() => void) | undefined;
  let filters: string[] = [];
  const port: ShadowPort = {
    thingName: "dev1",
    timers: time,
    now: () => time.now(),
    log: time.log,
    publish(topic, payload) {
      published.push({ topic, body: JSON.parse(new TextDecoder().decode(payload)) });
      return undefined;
    },
    subscribe(list) { filters = list; },
    onSessionUp(listener) { up = listener; },
    onSessionDown(listener) { down = listener; },
    setting: (name) => settings[name],
    apply(name, value) {
      const rule = CONFIG_FIELDS[name as keyof typeof CONFIG_FIELDS][1];
      const problem = mustBe(value, rule);
      if (problem) return invalidField(name, value, `must be ${problem}`);
      settings[name] = kept[name] = value;
      return undefined;
    },
    facts: () => ({ firmware: "1.0.0", mode: "mtls", uptimeS: Math.floor(time.now() / 1000) % 1000, queued: 0 }),
  };
  const sync = startShadowSync(port, { settable: SETTABLE, reportsPerMinute: options.reportsPerMinute ?? 10, coalesceMs: options.coalesceMs ?? 200 });
  const deliver = (topic: string, body: Record<string, unknown>) => sync.message(`${BASE}/${topic}`, new TextEncoder().encode(JSON.stringify(body)));
  const last = (topic: string) => [...published].reverse().find((p) => p.topic === `${BASE}/${topic}`)?.body;
  return { time, published, settings, kept, sync, deliver, last, filters: () => filters, up: () => up!(), down: () => down!() };
}

describe("Device Shadow client (firmware, pure)", () => {
  it("subscribes to its five response topics in one list (within AWS's 8 filters per SUBSCRIBE)", () => {
    const h = harness();
    assert.deepEqual(h.filters(), [`${BASE}/get/accepted`, `${BASE}/get/rejected`, `${BASE}/update/accepted`, `${BASE}/update/rejected`, `${BASE}/update/delta`]);
  });

  it("gets the shadow after each connect, applies desired, and reports settings and facts in one update", () => {
    const h = harness();
    h.up();
    const get = h.last("get")!;
    assert.equal(typeof get.clientToken, "string");
    h.deliver("get/accepted", { state: { desired: { telemetryIntervalMs: 2000 }, reported: {} }, version: 4, clientToken: get.clientToken });
    assert.equal(h.settings.telemetryIntervalMs, 2000);
    assert.deepEqual(h.kept, { telemetryIntervalMs: 2000 });
    assert.equal(h.last("update"), undefined, "the report waits for the coalescing window");
    h.time.advance(200);
    const update = h.last("update")!;
    assert.deepEqual((update.state as { reported: Record<string, unknown> }).reported.telemetryIntervalMs, 2000);
    assert.deepEqual((update.state as { reported: Record<string, unknown> }).reported.drainPerSecond, 10);
    assert.equal(((update.state as { reported: { device: { firmware: string } } }).reported.device).firmware, "1.0.0");
    assert.equal(update.version, 4);
    h.deliver("update/accepted", { state: {}, version: 5, clientToken: update.clientToken });
    assert.equal(h.sync.version, 5);
    h.down();
    h.up();
    assert.equal(h.published.filter((p) => p.topic === `${BASE}/get`).length, 2);
  });

  it("reports an invalid desired value back with the reason and keeps the running value", () => {
    const h = harness();
    h.up();
    h.deliver("get/accepted", { state: { desired: { telemetryIntervalMs: 5, color: "red" } }, version: 1, clientToken: h.last("get")!.clientToken });
    h.time.advance(200);
    const reported = (h.last("update")!.state as { reported: Record<string, unknown> }).reported;
    assert.equal(reported.telemetryIntervalMs, 5000);
    assert.deepEqual(reported.rejected, {
      telemetryIntervalMs: "config field \"telemetryIntervalMs\" = 5 must be an integer from 100 to 86400000.",
      color: "not a setting this device takes from its shadow (it takes telemetryIntervalMs, drainPerSecond)",
    });
    assert.deepEqual(h.kept, {});
    // The operator fixes the value and withdraws "color": the delta applies the value; a delta
    // never names withdrawn settings, so with a refusal on record the device gets the whole
    // desired state before it reports: both refusals are cleared with null.
    h.deliver("update/delta", { state: { telemetryIntervalMs: 1000 }, version: 3 });
    assert.equal(h.settings.telemetryIntervalMs, 1000);
    const get = h.last("get")!;
    assert.equal(h.published.filter((p) => p.topic === `${BASE}/get`).length, 2);
    h.deliver("get/accepted", { state: { desired: { telemetryIntervalMs: 1000 } }, version: 3, clientToken: get.clientToken });
    h.time.advance(200);
    const next = (h.last("update")!.state as { reported: Record<string, unknown> }).reported;
    assert.equal(next.telemetryIntervalMs, 1000);
    assert.deepEqual(next.rejected, { telemetryIntervalMs: null, color: null });
    h.deliver("update/accepted", { version: 4, clientToken: h.last("update")!.clientToken });
    h.deliver("update/delta", { state: { drainPerSecond: 20 }, version: 5 });
    h.time.advance(200);
    assert.equal((h.last("update")!.state as { reported: Record<string, unknown> }).reported.rejected, undefined, "cleared refusals are not repeated");
  });

  it("applies a delta at once and ignores one older than the version it knows", () => {
    const h = harness();
    h.up();
    h.deliver("get/accepted", { state: {}, version: 7, clientToken: h.last("get")!.clientToken });
    h.deliver("update/delta", { state: { drainPerSecond: 20 }, version: 6 });
    assert.equal(h.settings.drainPerSecond, 10);
    h.deliver("update/delta", { state: { drainPerSecond: 20 }, version: 8 });
    assert.equal(h.settings.drainPerSecond, 20);
    assert.equal(h.sync.version, 8);
  });

  it("coalesces a burst of deltas into one report", () => {
    const h = harness();
    h.up();
    h.deliver("get/accepted", { state: {}, version: 1, clientToken: h.last("get")!.clientToken });
    h.time.advance(200);
    const before = h.published.length;
    for (let v = 2; v < 12; v++) h.deliver("update/delta", { state: { telemetryIntervalMs: 1000 + v }, version: v });
    h.time.advance(200);
    const reports = h.published.slice(before).filter((p) => p.topic === `${BASE}/update`);
    assert.equal(reports.length, 1);
    assert.equal((reports[0].body.state as { reported: Record<string, unknown> }).reported.telemetryIntervalMs, 1011);
  });

  it("never sends more reports per minute than its bound, and sends the held one when the minute ends", () => {
    const h = harness({ reportsPerMinute: 3, coalesceMs: 100 });
    h.up();
    h.deliver("get/accepted", { state: {}, version: 1, clientToken: h.last("get")!.clientToken });
    for (let v = 2; v < 30; v++) {
      h.time.advance(500);
      h.deliver("update/delta", { state: { telemetryIntervalMs: 1000 + v }, version: v });
    }
    const count = () => h.published.filter((p) => p.topic === `${BASE}/update`).length;
    assert.equal(count(), 3);
    h.time.advance(60_000);
    assert.equal(count(), 4);
    assert.equal((h.last("update")!.state as { reported: Record<string, unknown> }).reported.telemetryIntervalMs, 1029);
  });

  it("resolves a version conflict on its report by getting the shadow again", () => {
    const h = harness();
    h.up();
    h.deliver("get/accepted", { state: {}, version: 1, clientToken: h.last("get")!.clientToken });
    h.time.advance(200);
    const update = h.last("update")!;
    h.deliver("update/rejected", { code: 409, message: "Version conflict", clientToken: update.clientToken });
    const get = h.last("get")!;
    assert.notEqual(get.clientToken, update.clientToken);
    assert.equal(h.published.filter((p) => p.topic === `${BASE}/get`).length, 2);
    h.deliver("get/accepted", { state: { desired: { drainPerSecond: 5 } }, version: 3, clientToken: get.clientToken });
    h.time.advance(200);
    assert.equal(h.last("update")!.version, 3);
    assert.equal(h.settings.drainPerSecond, 5);
  });

  it("creates the shadow with a report when there is none (404), without a version", () => {
    const h = harness();
    h.up();
    h.deliver("get/rejected", { code: 404, message: "No shadow exists with name: 'dev1'", clientToken: h.last("get")!.clientToken });
    h.time.advance(200);
    const update = h.last("update")!;
    assert.equal(update.version, undefined);
    assert.ok(h.time.lines.some((l) => /no shadow yet/.test(l)));
  });

  it("ignores answers to other clients' requests and reports nothing while offline", () => {
    const h = harness();
    h.up();
    h.deliver("update/accepted", { state: { desired: { a: 1 } }, version: 9, clientToken: "someone-else" });
    h.deliver("update/rejected", { code: 409, message: "Version conflict", clientToken: "someone-else" });
    assert.equal(h.sync.version, 0);
    assert.equal(h.published.filter((p) => p.topic === `${BASE}/get`).length, 1);
    h.deliver("update/delta", { state: { drainPerSecond: 30 }, version: 2 });
    h.down();
    h.time.advance(1000);
    assert.equal(h.last("update"), undefined);
    assert.equal(h.settings.drainPerSecond, 30, "the delta was applied even though the report waits for the next session");
  });
});
