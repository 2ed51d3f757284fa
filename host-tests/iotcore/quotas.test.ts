// AWS IoT Core's device-facing quotas on the mTLS data plane, each with a real client:
// mqtt.js, or a bare TLS socket speaking mqtt-packet where mqtt.js would be too polite.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Issued } from "../../certs/pki.js";
import { clampKeepAlive, ConnectRate, topicProblem } from "../../host/iotcore/dataplane/quotas.js";
import { closed, connectMtls, endClient, rawClient, registeredDevice, startCore, subscribeCodes, tempDir, waitFor } from "./helpers.js";

type Core = Awaited<ReturnType<typeof startCore>>;
describe("quotas: pure limits", () => {
  it("clamps keep-alive as AWS does: 0 and over 1200 become 1200, under 30 becomes 30", () => {
    assert.deepEqual([0, 1, 29, 30, 600, 1200, 1201, 65535].map(clampKeepAlive), [1200, 30, 30, 30, 600, 1200, 1200, 1200]);
  });

  it("counts slashes and bytes in topics, not counting the Basic Ingest prefix", () => {
    assert.equal(topicProblem("a/b/c/d/e/f/g/h", "publish"), undefined);
    assert.match(topicProblem("a/b/c/d/e/f/g/h/i", "publish")!, /8 slashes/);
    assert.equal(topicProblem("$aws/rules/r/a/b/c/d/e/f/g/h", "publish"), undefined);
    assert.match(topicProblem("x".repeat(257), "publish")!, /256 bytes/);
    assert.match(topicProblem("$aws/events/presence/connected/x", "publish")!, /reserved/);
    assert.equal(topicProblem("$aws/events/presence/connected/x", "subscribe"), undefined);
    assert.match(topicProblem("$SYS/broker", "subscribe")!, /reserved/);
  });

  it("admits one CONNECT per second per client id on the given clock", () => {
    const rate = new ConnectRate(1000);
    assert.equal(rate.admit("a", 10_000), true);
    assert.equal(rate.admit("a", 10_999), false);
    assert.equal(rate.admit("b", 10_999), true);
    assert.equal(rate.admit("a", 11_000), true);
  });
});

describe("quotas on the data plane", function () {
  const dir = tempDir("quotas");
  let core: Core;
  let device: Issued;

  before(async () => {
    core = await startCore(join(dir.path, "state"), { keepAliveScale: 0.01 });
    device = await registeredDevice(core, "quota-device");
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("refuses a client id over 128 bytes or starting with $ with CONNACK 2", async () => {
    for (const clientId of ["c".repeat(129), "$bad"]) {
      const result = await connectMtls(core, device, { clientId });
      assert.equal(result.connack?.returnCode, 2, clientId);
      await endClient(result.client);
    }
    const ok = await connectMtls(core, device, { clientId: "c".repeat(128) });
    assert.equal(ok.connack?.returnCode, 0);
    await endClient(ok.client);
  });

  for (const [what, topic, payload, qos] of [
    ["a topic over 256 bytes", "t".repeat(257), "x", 1],
    ["a topic with 8 slashes", "a/b/c/d/e/f/g/h/i", "x", 1],
    ["a payload over 128 KB", "big", Buffer.alloc(128 * 1024 + 1), 1],
    ["QoS 2", "qos/two", "x", 2],
    ["a reserved $aws/events topic", "$aws/events/presence/connected/x", "x", 0],
  ] as const) {
    it(`closes the connection on a publish with ${what}`, async () => {
      const { client } = await connectMtls(core, device, { clientId: "publisher" });
      const gone = closed(client);
      client.publish(topic, payload as string | Buffer, { qos });
      assert.equal(await gone, true);
      await endClient(client);
    });
  }

  it("accepts a 128 KB payload and a Basic Ingest topic with 7 slashes after its prefix", async () => {
    const { client } = await connectMtls(core, device, { clientId: "publisher" });
    await client.publishAsync("big", Buffer.alloc(128 * 1024), { qos: 1 });
    await client.publishAsync("$aws/rules/r/a/b/c/d/e/f/g/h", "x", { qos: 1 });
    assert.equal(client.connected, true);
    await endClient(client);
  });

  it("grants QoS 1 for a QoS 2 subscription and 0x80 beyond 50 subscriptions", async () => {
    const { client } = await connectMtls(core, device, { clientId: "subscriber" });
    assert.deepEqual(await subscribeCodes(client, { "q/two": { qos: 2 } }), [1]);
    for (let i = 1; i < 50; i += 7) {
      const filters = Object.fromEntries(Array.from({ length: Math.min(7, 50 - i) }, (_, k) => [`s/${i + k}`, { qos: 0 as const }]));
      assert.ok((await subscribeCodes(client, filters)).every((code) => code === 0));
    }
    assert.deepEqual(await subscribeCodes(client, { "s/again": { qos: 0 }, "q/two": { qos: 1 } }), [0x80, 1]);
    await endClient(client);
  });

  it("drops the older connection when a second one uses the same client id", async () => {
    const first = await connectMtls(core, device, { clientId: "twin" });
    const firstGone = closed(first.client);
    const second = await connectMtls(core, device, { clientId: "twin" });
    assert.equal(second.connack?.returnCode, 0);
    assert.equal(await firstGone, true);
    assert.equal(second.client.connected, true);
    assert.ok(core.lines.some((l) => /client twin .*takes over the older connection/.test(l)));
    await endClient(first.client);
    await endClient(second.client);
  });

  it("disconnects a silent client after 1.5x its keep-alive, raised to 30 s (scaled down here)", async () => {
    const raw = await rawClient(core, device, { clientId: "silent", keepalive: 5 });
    assert.ok(await waitFor(() => raw.packets.some((p) => p.cmd === "connack"), 3000));
    assert.ok(await waitFor(() => raw.closed, 5000), "the silent client is disconnected");
    assert.ok(core.lines.some((l) => /client silent: keep-alive 5 s clamped to 30 s/.test(l)));
    assert.ok(core.lines.some((l) => /client silent: keep-alive expired/.test(l)));
    raw.socket.destroy();
  });
});

describe("quotas: CONNECT rate per client id", function () {
  const dir = tempDir("rate");
  let core: Core;
  let clock = Date.now();
  let device: Issued;

  before(async () => {
    core = await startCore(join(dir.path, "state"), { connectIntervalMs: 1000, now: () => clock });
    device = await registeredDevice(core, "rate-device");
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("drops a second CONNECT with the same client id within one second, and accepts it a second later", async () => {
    const first = await connectMtls(core, device, { clientId: "hasty" });
    assert.equal(first.connack?.returnCode, 0);
    await endClient(first.client);
    clock += 500;
    const second = await connectMtls(core, device, { clientId: "hasty" });
    assert.equal(second.closedBeforeConnack, true);
    await endClient(second.client);
    assert.ok(core.lines.some((l) => /client hasty .*more than 1 CONNECT per second/.test(l)));
    clock += 1000;
    const third = await connectMtls(core, device, { clientId: "hasty" });
    assert.equal(third.connack?.returnCode, 0);
    await endClient(third.client);
  });
});
