import assert from "node:assert/strict";
import type { DeviceStatus } from "../../firmware/boot/status.js";
import type { OpenStream } from "../../firmware/mqtt/client.js";
import { failure, type Failure } from "../../firmware/platform/failure.js";
import { BOOTS_KEY, createConnectionLoop, LAST_CONNECT_KEY, type ConnectionLoop } from "../../firmware/provisioning/loop.js";
import type { PolicyParams } from "../../firmware/provisioning/policy.js";
import { MemoryStorage } from "../credentials/fixtures.js";
import { FakeTime } from "../support/fake-time.js";

const params: PolicyParams = {
  backoffBaseMs: 1000, backoffCapMs: 4000, connectSpacingMs: 1000, provisioningAttempts: 5, provisioningGraceMs: 20_000,
  reconnectAttempts: 0, stableSessionMs: 10_000, takeoverThreshold: 3,
};

/** A client whose every connect() is answered by `script` after 50 ms of "network". */
function setup(script: (attempt: number) => Failure | "accept", provisioned = false, random = () => 0.5) {
  const time = new FakeTime();
  const connects: number[] = [];
  const statuses: DeviceStatus[] = [];
  let remembered = 0;
  let up = 0;
  const open: OpenStream = () => ({ write() {}, close() {} });
  const client = {
    connect() {
      connects.push(time.now());
      const outcome = script(connects.length);
      time.setTimeout(() => (outcome === "accept" ? loop.connected({ sessionPresent: false }) : loop.disconnected(outcome)), 50);
    },
    disconnect() { time.setTimeout(() => loop.disconnected(undefined), 0); },
  };
  const loop: ConnectionLoop = createConnectionLoop({ clock: time, timers: time, log: time.log, random, storage: new MemoryStorage() }, client, open, params,
    { provisioned, target: "endpoint:8883" },
    {
      onStatus: (s) => statuses.push(s),
      onSessionUp: () => { up += 1; },
      onSessionDown: () => {},
      onProvisioned: () => { remembered += 1; },
    });
  return { time, loop, connects, statuses, counts: () => ({ remembered, up }) };
}

const reset = failure("tls-handshake-reset", "reset", true);

describe("connect/retry loop", () => {
  it("takes a fresh JITP device online in exactly two attempts when provisioning is quick", () => {
    const { time, loop, connects, statuses, counts } = setup((n) => (n === 1 ? reset : "accept"));
    loop.start();
    time.advance(5000);
    assert.equal(connects.length, 2);
    assert.ok(connects[1]! - connects[0]! >= 1000);
    assert.deepEqual(statuses.map((s) => s.state), ["connecting", "provisioning", "online"]);
    loop.markProvisioned();
    assert.equal(counts().remembered, 1);
    assert.ok(loop.provisioned);
  });

  it("never starts two attempts within a second, whatever the random numbers say", () => {
    const { time, loop, connects } = setup(() => failure("connection-refused", "refused", true), true, () => 0);
    loop.start();
    time.advance(60_000);
    // Each attempt ends 50 ms after it starts; the next CONNECT waits a full second after that.
    for (let i = 1; i < connects.length; i += 1) assert.ok(connects[i]! - connects[i - 1]! >= 1050, `gap ${i}`);
    assert.ok(connects.length > 10);
  });

  it("stops with an actionable status when provisioning never finishes", () => {
    const { time, loop, connects, statuses } = setup(() => reset);
    loop.start();
    time.advance(120_000);
    assert.equal(connects.length, params.provisioningAttempts);
    const last = statuses.at(-1)!;
    assert.equal(last.state, "gave-up");
    assert.equal(last.code, "provisioning-timeout");
    assert.match(last.message, /template/);
    assert.equal(time.pending, 0);
  });

  it("stops at once when the server is not trusted", () => {
    const { time, loop, connects, statuses } = setup(() => failure("tls-untrusted-server", "unknown issuer"));
    loop.start();
    time.advance(60_000);
    assert.equal(connects.length, 1);
    assert.equal(statuses.at(-1)?.state, "refused");
    assert.match(statuses.at(-1)!.message, /tls-untrusted-server/);
  });

  it("reports a takeover and then keeps to the cap instead of storming", () => {
    const { time, loop, connects, statuses } = setup(() => "accept", true);
    loop.start();
    // The server accepts every CONNECT and another device kicks this one off 100 ms later.
    for (let round = 0; round < 12; round += 1) {
      time.advance(100);
      loop.disconnected(undefined);
      time.advance(params.backoffCapMs);
    }
    const takeover = statuses.filter((s) => s.state === "takeover");
    assert.equal(takeover.length, 1);
    assert.equal(takeover[0]!.code, "client-id-takeover");
    const gaps = connects.slice(4).map((t, i) => t - connects[3 + i]!);
    assert.ok(gaps.every((g) => g >= params.backoffCapMs), `gaps ${gaps}`);
    assert.ok(connects.length <= 13);
  });

  it("logs one line per attempt and per decision", () => {
    const { time, loop } = setup((n) => (n === 1 ? reset : "accept"));
    loop.start();
    time.advance(5000);
    const lines = time.lines.filter((l) => l.startsWith("connect:"));
    assert.match(lines[0]!, /attempt 1 to endpoint:8883 \(not provisioned yet\)/);
    assert.match(lines[1]!, /attempt 1 ended \(tls-handshake-reset\): still provisioning; next attempt in \d+ ms/);
    assert.match(lines[2]!, /attempt 2/);
    assert.match(lines[3]!, /accepted on attempt 2/);
  });

  it("does not retry after stop()", () => {
    const { time, loop, connects } = setup(() => reset);
    loop.start();
    time.advance(60);
    loop.stop();
    time.advance(60_000);
    assert.equal(connects.length, 1);
  });
});

describe("connect pacing across reboots", () => {
  /**
   * Boots a device on `time` and `storage` (kept across boots, as Preference is); its
   * connects never get an answer. `crash()` ends it as a reboot would: its timers die with it.
   */
  function bootDevice(time: FakeTime, storage: MemoryStorage, connects: number[], statuses: DeviceStatus[]) {
    let alive = true;
    const timers = {
      setTimeout: (callback: () => void, ms: number) => time.setTimeout(() => { if (alive) callback(); }, ms),
      clearTimeout: (handle: unknown) => time.clearTimeout(handle as never),
    };
    const client = { connect() { connects.push(time.now()); }, disconnect() {} };
    const loop = createConnectionLoop({ clock: time, timers, log: time.log, random: () => 0.5, storage }, client, () => ({ write() {}, close() {} }), params,
      { provisioned: true, target: "endpoint:8883" },
      { onStatus: (s) => statuses.push(s), onSessionUp() {}, onSessionDown() {}, onProvisioned() {} });
    loop.start();
    return { loop, crash() { alive = false; } };
  }

  it("never CONNECTs within 1 s of the last attempt nor faster than the backoff when rebooting every 300 ms, and says it loops", () => {
    const time = new FakeTime();
    const storage = new MemoryStorage();
    const connects: number[] = [];
    const statuses: DeviceStatus[] = [];
    const start = time.now();
    for (let boot = 0; boot < 6; boot++) {
      const device = bootDevice(time, storage, connects, statuses);
      time.advance(300);
      device.crash();
    }
    const device = bootDevice(time, storage, connects, statuses);
    time.advance(10_000);
    device.crash();
    assert.ok(connects.length >= 2, `connects at ${connects.join(", ")}`);
    for (let i = 1; i < connects.length; i++) {
      assert.ok(connects[i]! - connects[i - 1]! >= params.connectSpacingMs, `CONNECTs ${connects[i - 1]} and ${connects[i]} closer than the spacing`);
    }
    // Boot 1 connects at once; boots 2-6 (300 ms apart) each wait the spacing or the backoff of
    // that many boots in a row (random 0.5: 500, 1000, 2000 ms...) and die first; boot 7, at
    // 1,800 ms, waits half of min(cap 4000, 1000 * 2^5) = 2,000 ms.
    assert.deepEqual(connects.map((t) => t - start), [0, 3800]);
    const looping = statuses.filter((s) => s.code === "reboot-loop");
    assert.ok(looping.length > 0);
    assert.match(looping[0]!.message, /Rebooting in a loop \(boot \d+ without a lasting session\): attempt 1 to endpoint:8883/);
    // The log line stays as the fleet's backoff check reads it (host/fleet/backoff-check.ts).
    const attemptLines = time.lines.filter((l) => l.includes("attempt 1 to"));
    assert.deepEqual(attemptLines, attemptLines.map(() => "connect: attempt 1 to endpoint:8883 (provisioned)"));
    assert.equal(attemptLines.length, 2, "boot 1 and boot 7 made their first attempt");
    assert.equal(storage.get(BOOTS_KEY), "7");
  });

  it("holds the first CONNECT back by the backoff of the boots in a row, and starts the count again after a lasting session", () => {
    const time = new FakeTime();
    const storage = new MemoryStorage();
    storage.set(LAST_CONNECT_KEY, String(time.now() - 60_000));
    storage.set(BOOTS_KEY, "5");
    const connects: number[] = [];
    const statuses: DeviceStatus[] = [];
    const start = time.now();
    const { loop } = bootDevice(time, storage, connects, statuses);
    time.advance(5000);
    assert.deepEqual(connects.map((t) => t - start), [2000], "boot 6 in a row: half of min(cap 4000, 1000 * 2^4)");
    loop.connected({ sessionPresent: false });
    time.advance(params.stableSessionMs);
    assert.equal(storage.get(BOOTS_KEY), "0");
    assert.equal(storage.get(LAST_CONNECT_KEY), String(connects[0]));
  });
});
