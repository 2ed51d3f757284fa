// AWS IoT Core's per-connection rates (8 filters per SUBSCRIBE, 100 publishes/s, 512 KiB/s),
// the outbound in-flight limit holding deliveries back, and persistent-session expiry, each
// with a client we did not write: mqtt.js, or a bare TLS socket speaking mqtt-packet where
// mqtt.js would acknowledge or pace for us. Time: a fake clock, or windows scaled down.
import assert from "node:assert/strict";
import { join } from "node:path";
import type * as mqttPacket from "mqtt-packet";
import type { MqttClient } from "mqtt";
import type { Issued } from "../../certs/pki.js";
import { LIMITS, RateWindow } from "../../host/iotcore/dataplane/quotas.js";
import { SessionExpiry } from "../../host/iotcore/dataplane/session-expiry.js";
import { CONFIG_FIELDS } from "../../firmware/config/config.js";
import { closed, connectMtls, endClient, rawClient, registeredDevice, startCore, tempDir, waitFor, type RawClient } from "./helpers.js";

type Core = Awaited<ReturnType<typeof startCore>>;

const HOUR = 3_600_000;

function publishPacket(topic: string, messageId: number, payload: string | Buffer = String(messageId)): mqttPacket.IPublishPacket {
  return { cmd: "publish", topic, payload, qos: 1, messageId, retain: false, dup: false };
}

const count = (raw: RawClient, cmd: string) => raw.packets.filter((p) => p.cmd === cmd).length;

/** Sends PINGREQ and waits for PINGRESP: every packet sent before it has been handled. */
async function roundTrip(raw: RawClient): Promise<void> {
  const before = count(raw, "pingresp");
  raw.send({ cmd: "pingreq" });
  assert.ok(await waitFor(() => count(raw, "pingresp") > before, 5000), "PINGRESP");
}

/** Collects the payloads a client receives, as text. */
function received(client: MqttClient): string[] {
  const list: string[] = [];
  client.on("message", (topic, payload) => list.push(`${topic}:${payload.toString()}`));
  return list;
}

describe("rates and sessions: pure parts", () => {
  it("admits one window's worth at once, refuses the next, and refills with time", () => {
    const rate = new RateWindow(100, 1000);
    for (let i = 0; i < 100; i++) assert.equal(rate.tryTake(1, 5000), true);
    assert.equal(rate.tryTake(1, 5000), false);
    assert.equal(rate.tryTake(1, 5009), false);
    assert.equal(rate.tryTake(1, 5010), true);
    assert.equal(rate.tryTake(1, 5010), false);
    for (let i = 0; i < 100; i++) assert.equal(rate.tryTake(1, 7000), true);
  });

  it("delays bytes over the rate by the time the rate needs to carry them", () => {
    const rate = new RateWindow(512 * 1024, 1000);
    assert.equal(rate.takeOrDelay(512 * 1024, 0), 0);
    assert.equal(rate.takeOrDelay(128 * 1024, 0), 250);
    assert.equal(rate.takeOrDelay(128 * 1024, 0), 500);
    assert.equal(rate.takeOrDelay(1, 500), 1);
    assert.equal(rate.takeOrDelay(1024, 2000), 0);
  });

  it("expires a persistent session after the expiry period, not before, and not once resumed", () => {
    const expiry = new SessionExpiry(HOUR);
    expiry.disconnected("a", 0);
    expiry.disconnected("b", 10);
    assert.equal(expiry.takeIfExpired("a", HOUR - 1), false);
    assert.deepEqual(expiry.takeExpired(HOUR), ["a"]);
    assert.equal(expiry.takeIfExpired("a", 2 * HOUR), false, "forgotten once taken");
    expiry.connected("b");
    assert.deepEqual(expiry.takeExpired(3 * HOUR), []);
  });

  it("keeps the firmware's telemetry drain and in-flight settings under the per-connection limits", () => {
    const [drainDefault, [, drainMax]] = CONFIG_FIELDS.drainPerSecond as [number, [number, number]];
    const [, [, inFlightMax]] = CONFIG_FIELDS.maxInFlight as [number, [number, number]];
    assert.ok(drainDefault * 5 <= LIMITS.publishesPerSecond, `default drain ${drainDefault}/s is well under ${LIMITS.publishesPerSecond}/s`);
    assert.ok(drainMax < LIMITS.publishesPerSecond, `drain allowed up to ${drainMax}/s stays under ${LIMITS.publishesPerSecond}/s`);
    assert.ok(inFlightMax <= LIMITS.inFlightPerDirection);
  });
});

describe("rates and sessions on the data plane (fake clock)", function () {
  const dir = tempDir("rates");
  let core: Core;
  let device: Issued;
  let clock = Date.now();

  before(async () => {
    core = await startCore(join(dir.path, "state"), { now: () => clock });
    device = await registeredDevice(core, "rate-device");
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("drops a connection whose SUBSCRIBE carries 9 filters, without SUBACK, and accepts 8", async () => {
    const filters = (n: number) => Array.from({ length: n }, (_, i) => ({ topic: `f/${i}`, qos: 1 as const }));
    const raw = await rawClient(core, device, { clientId: "nine-filters" });
    raw.send({ cmd: "subscribe", messageId: 1, subscriptions: filters(9) });
    assert.ok(await waitFor(() => raw.closed, 5000), "the connection is dropped");
    assert.equal(count(raw, "suback"), 0);
    assert.ok(core.lines.some((l) => /client nine-filters: 9 filters in one SUBSCRIBE, more than 8; connection dropped/.test(l)));

    const ok = await rawClient(core, device, { clientId: "eight-filters" });
    ok.send({ cmd: "subscribe", messageId: 1, subscriptions: filters(8) });
    assert.ok(await waitFor(() => count(ok, "suback") === 1, 5000));
    assert.deepEqual((ok.packets.find((p) => p.cmd === "suback") as mqttPacket.ISubackPacket).granted, Array(8).fill(1));
    ok.socket.destroy();
  });

  it("serves mqtt.js 10 filters once it batches them 8 per SUBSCRIBE", async () => {
    const filters = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`b/${i}`, { qos: 1 as const }]));
    const unbatched = await connectMtls(core, device, { clientId: "unbatched" });
    const gone = closed(unbatched.client);
    unbatched.client.subscribe(filters, () => undefined);
    assert.equal(await gone, true);
    await endClient(unbatched.client);

    const batched = await connectMtls(core, device, { clientId: "batched", subscribeBatchSize: 8 });
    const granted = await batched.client.subscribeAsync(filters);
    assert.deepEqual(granted.map((g) => g.qos), Array(10).fill(1));
    assert.equal(batched.client.connected, true);
    await endClient(batched.client);
  });

  it("discards publishes over 100 per second without PUBACK, keeps the connection, and accepts more a second later", async () => {
    const listener = await connectMtls(core, device, { clientId: "rate-listener" });
    const messages = received(listener.client);
    await listener.client.subscribeAsync("burst", { qos: 1 });
    const raw = await rawClient(core, device, { clientId: "burster" });
    assert.ok(await waitFor(() => count(raw, "connack") === 1));
    raw.send(...Array.from({ length: 105 }, (_, i) => publishPacket("burst", i + 1)));
    assert.ok(await waitFor(() => count(raw, "puback") === 100, 5000), "100 PUBACKs");
    await roundTrip(raw);
    assert.equal(count(raw, "puback"), 100, "no PUBACK for the 5 over the rate");
    assert.equal(raw.closed, false);
    assert.ok(core.lines.some((l) => /publish throttled: client burster topic burst: over 100 publishes per second/.test(l)));
    assert.ok(await waitFor(() => messages.length === 100, 5000));

    clock += 1000;
    raw.send(publishPacket("burst", 106));
    assert.ok(await waitFor(() => raw.packets.some((p) => p.cmd === "puback" && p.messageId === 106), 5000));
    assert.ok(await waitFor(() => messages.includes("burst:106"), 5000));
    assert.equal(messages.length, 101);
    assert.deepEqual(messages.slice(0, 100), Array.from({ length: 100 }, (_, i) => `burst:${i + 1}`));
    raw.socket.destroy();
    await endClient(listener.client);
  });

  it("holds QoS 1 deliveries back while 100 are unacknowledged and sends them, in order, as PUBACKs arrive", async () => {
    const reader = await rawClient(core, device, { clientId: "slow-reader" });
    reader.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "flood", qos: 1 }] });
    assert.ok(await waitFor(() => count(reader, "suback") === 1));
    const { client } = await connectMtls(core, device, { clientId: "flooder" });
    await Promise.all(Array.from({ length: 100 }, (_, i) => client.publishAsync("flood", String(i + 1), { qos: 1 })));
    clock += 1000;
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.publishAsync("flood", String(i + 101), { qos: 1 })));
    const deliveries = () => reader.packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === "publish");
    assert.ok(await waitFor(() => deliveries().length >= 100, 5000));
    await roundTrip(reader);
    assert.equal(deliveries().length, 100, "nothing beyond 100 unacknowledged");
    assert.ok(core.lines.some((l) => /receive held back: client slow-reader topic flood: 100 QoS 1 messages unacknowledged/.test(l)));

    reader.send({ cmd: "puback", messageId: deliveries()[0].messageId! });
    assert.ok(await waitFor(() => deliveries().length === 101, 5000), "one PUBACK releases one message");
    await roundTrip(reader);
    assert.equal(deliveries().length, 101);
    reader.send(...deliveries().slice(1).map((p) => ({ cmd: "puback", messageId: p.messageId! }) as mqttPacket.IPubackPacket));
    assert.ok(await waitFor(() => deliveries().length === 110, 5000), "every held message is delivered");
    assert.deepEqual(deliveries().map((p) => p.payload.toString()), Array.from({ length: 110 }, (_, i) => String(i + 1)));
    await endClient(client);
    reader.socket.destroy();
  });

  /** A persistent session for `clientId` subscribed to `topic`, a message stored while away, then `away` ms pass. */
  async function leaveSession(clientId: string, topic: string, away: number): Promise<void> {
    const first = await connectMtls(core, device, { clientId, clean: false });
    await first.client.subscribeAsync(topic, { qos: 1 });
    await endClient(first.client);
    const { client: publisher } = await connectMtls(core, device, { clientId: `${clientId}-publisher` });
    await publisher.publishAsync(topic, "while away", { qos: 1 });
    await endClient(publisher);
    clock += away;
  }

  it("resumes a persistent session just inside an hour with its stored message", async () => {
    await leaveSession("keeper", "kept/1", HOUR - 1);
    const again = await connectMtls(core, device, { clientId: "keeper", clean: false });
    assert.equal((again.connack as { sessionPresent?: boolean }).sessionPresent, true);
    const messages = received(again.client);
    assert.ok(await waitFor(() => messages.includes("kept/1:while away"), 5000));
    await endClient(again.client);
  });

  it("ends a persistent session after an hour away: no session present, its subscription and stored message gone", async () => {
    await leaveSession("leaver", "left/1", HOUR);
    const again = await connectMtls(core, device, { clientId: "leaver", clean: false });
    assert.equal((again.connack as { sessionPresent?: boolean }).sessionPresent, false);
    const messages = received(again.client);
    await again.client.subscribeAsync("marker", { qos: 1 });
    const { client: publisher } = await connectMtls(core, device, { clientId: "leaver-publisher" });
    await publisher.publishAsync("left/1", "fresh", { qos: 1 });
    await publisher.publishAsync("marker", "done", { qos: 1 });
    assert.ok(await waitFor(() => messages.includes("marker:done"), 5000));
    assert.deepEqual(messages, ["marker:done"], "neither the stored message nor one for the old subscription");
    assert.ok(core.lines.some((l) => /session expired: client leaver: .*subscriptions and 1 stored messages discarded/.test(l)));
    await endClient(publisher);
    await endClient(again.client);
  });
});

describe("rates and sessions on the data plane (windows scaled down)", function () {
  const dir = tempDir("windows");
  let core: Core;
  let device: Issued;

  before(async () => {
    core = await startCore(join(dir.path, "state"), { rateWindowMs: 50, sessionExpiryMs: 200 });
    device = await registeredDevice(core, "window-device");
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("delays processing over 512 KiB per window instead of refusing, and delivers every message in order", async () => {
    const { client: reader } = await connectMtls(core, device, { clientId: "bulk-reader" });
    const messages: number[] = [];
    reader.on("message", (_topic, payload) => messages.push(payload.length === 128 * 1024 ? payload[0] : -1));
    await reader.subscribeAsync("bulk", { qos: 1 });
    const { client: writer } = await connectMtls(core, device, { clientId: "bulk-writer" });
    const chunk = (i: number) => Buffer.alloc(128 * 1024, i);
    await Promise.all(Array.from({ length: 6 }, (_, i) => writer.publishAsync("bulk", chunk(i), { qos: 1 })));
    assert.ok(await waitFor(() => messages.length === 6, 5000));
    assert.deepEqual(messages, [0, 1, 2, 3, 4, 5]);
    assert.equal(writer.connected, true);
    assert.ok(core.lines.some((l) => /publish delayed: client bulk-writer: over 512 KiB\/s on this connection/.test(l)));
    await endClient(writer);
    await endClient(reader);
  });

  it("discards a persistent session left alone for the expiry period without waiting for a reconnect", async () => {
    const first = await connectMtls(core, device, { clientId: "forgotten", clean: false });
    await first.client.subscribeAsync("gone/1", { qos: 1 });
    await endClient(first.client);
    assert.ok(await waitFor(() => core.lines.some((l) => /session expired: client forgotten:/.test(l)), 5000));
    const again = await connectMtls(core, device, { clientId: "forgotten", clean: false });
    assert.equal((again.connack as { sessionPresent?: boolean }).sessionPresent, false);
    await endClient(again.client);
  });
});
