// The MQTT session driven over a fake stream and a fake clock: the test plays the broker.
import assert from "node:assert/strict";
import type * as mqttPacket from "mqtt-packet";
import { MqttClient, type MqttConnectOptions } from "../../firmware/mqtt/client.js";
import type { TransportEvents } from "../../firmware/platform/seam.js";
import { FakeTime, fakeOpener, recordingEvents } from "./fake-link.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const base: MqttConnectOptions = { clientId: "device-001", cleanSession: false, keepAliveSeconds: 60 };

function setup(options: Partial<MqttConnectOptions> = {}) {
  const time = new FakeTime();
  const { events, log } = recordingEvents();
  const client = new MqttClient(time, { ...base, ...options }, events);
  const opener = fakeOpener();
  return { time, client, log, opener, connect: () => { client.connect(opener.open); return opener.last; } };
}

const cmds = (packets: mqttPacket.Packet[]) => packets.map((p) => p.cmd);

describe("MQTT session: connecting", () => {
  it("sends CONNECT once the stream opens and reports onConnected with sessionPresent", () => {
    const { client, log, connect } = setup({ username: "u", password: utf8("p"), will: { topic: "d/status", payload: utf8("gone"), qos: 1 } });
    const stream = connect();
    assert.deepEqual(stream.written, []);
    stream.open();
    const [c] = stream.take() as mqttPacket.IConnectPacket[];
    assert.deepEqual([c.cmd, c.clientId, c.clean, c.keepalive, c.username, c.will?.topic], ["connect", "device-001", false, 60, "u", "d/status"]);
    assert.equal(client.connected, false);
    stream.send({ cmd: "connack", returnCode: 0, sessionPresent: true });
    assert.equal(client.connected, true);
    assert.deepEqual(log.connected, [true]);
  });

  const refusals: [number, string, boolean][] = [
    [1, "connack-unacceptable-protocol", false],
    [2, "connack-identifier-rejected", false],
    [3, "connack-server-unavailable", true],
    [4, "connack-bad-credentials", false],
    [5, "connack-not-authorized", false],
  ];
  for (const [rc, code, retryable] of refusals) {
    it(`ends the connection with ${code} when CONNACK returns ${rc}`, () => {
      const { client, log, connect } = setup();
      const stream = connect();
      stream.open();
      stream.send({ cmd: "connack", returnCode: rc, sessionPresent: false });
      assert.equal(client.connected, false);
      assert.equal(stream.closed, true);
      assert.deepEqual(log.connected, []);
      assert.equal(log.disconnected.length, 1);
      assert.equal(log.disconnected[0]?.code, code);
      assert.equal(log.disconnected[0]?.retryable, retryable);
    });
  }

  it("reports mqtt-closed-before-connack (retryable) when the server drops the link after TLS but before CONNACK", () => {
    const { log, connect } = setup();
    const stream = connect();
    stream.open();
    stream.drop({ code: "connection-reset", message: "reset", retryable: true });
    assert.equal(log.disconnected.length, 1);
    assert.equal(log.disconnected[0]?.code, "mqtt-closed-before-connack");
    assert.equal(log.disconnected[0]?.retryable, true);
  });

  it("passes a TLS failure from before the stream opened through unchanged", () => {
    const { log, connect } = setup();
    const stream = connect();
    stream.drop({ code: "tls-untrusted-server", message: "untrusted", retryable: false });
    assert.deepEqual(log.disconnected.map((f) => f?.code), ["tls-untrusted-server"]);
  });

  it("reports invalid connect options through onDisconnected without opening a stream", () => {
    const { time, log, opener, client } = setup({ clientId: "$bad" });
    client.connect(opener.open);
    assert.equal(opener.streams.length, 0);
    time.advance(0);
    assert.deepEqual(log.disconnected.map((f) => f?.code), ["mqtt-invalid-client-id"]);
  });

  it("turns malformed server bytes into mqtt-protocol-error and closes the stream", () => {
    const { log, connect, client } = setup();
    const stream = connect();
    stream.accept();
    assert.doesNotThrow(() => stream.sendBytes([0x50, 2, 0, 1]));
    assert.equal(stream.closed, true);
    assert.equal(client.connected, false);
    assert.deepEqual(log.disconnected.map((f) => f?.code), ["mqtt-protocol-error"]);
  });

  it("sends DISCONNECT and reports no failure on its own disconnect()", () => {
    const { log, connect, client } = setup();
    const stream = connect();
    stream.accept();
    stream.take();
    client.disconnect();
    assert.deepEqual(cmds(stream.take()), ["disconnect"]);
    assert.equal(stream.closed, true);
    assert.deepEqual(log.disconnected, [undefined]);
    stream.drop();
    assert.equal(log.disconnected.length, 1, "a late close from the old stream is not reported again");
  });

  it("reports connection-closed when the server closes an established connection", () => {
    const { log, connect } = setup();
    const stream = connect();
    stream.accept();
    stream.drop();
    assert.deepEqual(log.disconnected.map((f) => [f?.code, f?.retryable]), [["connection-closed", true]]);
  });
});

describe("MQTT session: publishing", () => {
  it("completes a QoS 1 publish only when its PUBACK arrives", () => {
    const { connect, client } = setup();
    const stream = connect();
    stream.accept();
    stream.take();
    const done: unknown[] = [];
    assert.equal(client.publish("d/t", utf8("x"), 1, (f) => done.push(f)), undefined);
    const [p] = stream.take() as mqttPacket.IPublishPacket[];
    assert.deepEqual([p.cmd, p.qos, p.dup, p.topic], ["publish", 1, false, "d/t"]);
    assert.equal(client.inFlight, 1);
    assert.deepEqual(done, []);
    stream.send({ cmd: "puback", messageId: p.messageId! + 1 });
    assert.deepEqual(done, [], "a PUBACK for another id completes nothing");
    stream.send({ cmd: "puback", messageId: p.messageId! });
    assert.deepEqual(done, [undefined]);
    assert.equal(client.inFlight, 0);
  });

  it("writes each PUBLISH in one call: its header, then the caller's payload itself, uncopied", () => {
    const { client } = setup();
    const writes: [Uint8Array, Uint8Array | undefined][] = [];
    let events: TransportEvents | undefined;
    client.connect((e) => ((events = e), { write: (bytes, more) => void writes.push([bytes.slice(), more]), close() {} }));
    events!.onOpen({});
    events!.onData(Uint8Array.of(0x20, 2, 0, 0));
    const payload = utf8("0123456789".repeat(20));
    client.publish("d/t", payload, 0);
    client.publish("d/t", payload, 1);
    const [q0, q1] = writes.slice(1);
    assert.equal(q0[1], payload);
    assert.equal(q1[1], payload);
    // remaining length 2 + 3 + 200 = 205 (QoS 0) and 207 (QoS 1, with the packet id), as 2-byte varints
    assert.deepEqual([...q0[0]], [0x30, 0x80 | (205 & 0x7f), 1, 0, 3, ...utf8("d/t")]);
    assert.deepEqual([...q1[0]], [0x32, 0x80 | (207 & 0x7f), 1, 0, 3, ...utf8("d/t"), 0, 1]);
  });

  it("sends QoS 0 at once and refuses it while disconnected", () => {
    const { connect, client } = setup();
    assert.equal(client.publish("d/t", utf8("x"), 0)?.code, "not-connected");
    const stream = connect();
    stream.accept();
    stream.take();
    assert.equal(client.publish("d/t", utf8("x"), 0), undefined);
    assert.deepEqual(stream.take().map((p) => [(p as mqttPacket.IPublishPacket).qos, p.cmd]), [[0, "publish"]]);
    assert.equal(client.inFlight, 0);
  });

  it("refuses invalid topics and payloads synchronously without sending anything", () => {
    const { connect, client } = setup();
    const stream = connect();
    stream.accept();
    stream.take();
    assert.equal(client.publish("d/+", utf8("x"), 1)?.code, "mqtt-invalid-topic");
    assert.equal(client.publish("a/b/c/d/e/f/g/h/i", utf8("x"), 0)?.code, "mqtt-invalid-topic");
    assert.equal(client.publish("d/t", new Uint8Array(131073), 1)?.code, "mqtt-payload-too-large");
    assert.deepEqual(stream.take(), []);
    assert.equal(client.inFlight, 0);
  });

  it("keeps QoS 1 published while disconnected and sends it after the next CONNACK", () => {
    const { connect, client } = setup();
    assert.equal(client.publish("d/t", utf8("early"), 1), undefined);
    assert.equal(client.inFlight, 1);
    const stream = connect();
    stream.accept(true);
    const packets = stream.take() as mqttPacket.IPublishPacket[];
    assert.deepEqual(packets.map((p) => [p.cmd, p.dup]), [["connect", false], ["publish", false]]);
  });

  it("refuses a 101st unacknowledged QoS 1 publish with mqtt-in-flight-full", () => {
    const { connect, client } = setup();
    const stream = connect();
    stream.accept();
    for (let i = 0; i < 100; i++) assert.equal(client.publish("d/t", utf8(`${i}`), 1), undefined);
    const full = client.publish("d/t", utf8("x"), 1);
    assert.equal(full?.code, "mqtt-in-flight-full");
    assert.equal(full?.retryable, true);
    const ids = (stream.take().slice(1) as mqttPacket.IPublishPacket[]).map((p) => p.messageId);
    assert.equal(new Set(ids).size, 100, "every in-flight publish has its own packet id");
  });

  it("resends unacknowledged QoS 1 in order with DUP after reconnecting to a persistent session", () => {
    const { connect, client } = setup();
    const first = connect();
    first.accept();
    first.take();
    for (const n of ["a", "b", "c"]) client.publish("d/t", utf8(n), 1);
    const sent = first.take() as mqttPacket.IPublishPacket[];
    first.send({ cmd: "puback", messageId: sent[1].messageId! });
    first.drop({ code: "connection-reset", message: "reset", retryable: true });
    assert.equal(client.inFlight, 2);
    const second = connect();
    second.accept(true);
    const resent = second.take().slice(1) as mqttPacket.IPublishPacket[];
    assert.deepEqual(resent.map((p) => [p.messageId, p.dup, Buffer.from(p.payload as Buffer).toString()]),
      [[sent[0].messageId, true, "a"], [sent[2].messageId, true, "c"]]);
  });

  it("resends each unacknowledged QoS 1 to its own topic after later publishes changed topic", () => {
    const { connect, client } = setup();
    const first = connect();
    first.accept();
    for (const [topic, n] of [["d/a", "1"], ["d/b", "2"], ["d/a", "3"], ["d/c", "4"]]) client.publish(topic, utf8(n), 1);
    first.drop();
    const second = connect();
    second.accept(true);
    const resent = second.take().slice(1) as mqttPacket.IPublishPacket[];
    assert.deepEqual(resent.map((p) => [p.topic, Buffer.from(p.payload as Buffer).toString(), p.dup]),
      [["d/a", "1", true], ["d/b", "2", true], ["d/a", "3", true], ["d/c", "4", true]]);
  });

  it("resends unacknowledged QoS 1 as fresh publishes when the server has no session", () => {
    const { connect, client } = setup({ cleanSession: true });
    const first = connect();
    first.accept();
    client.publish("d/t", utf8("a"), 1);
    first.drop();
    const second = connect();
    second.accept(false);
    const resent = second.take().slice(1) as mqttPacket.IPublishPacket[];
    assert.deepEqual(resent.map((p) => [p.dup, Buffer.from(p.payload as Buffer).toString()]), [[false, "a"]]);
    assert.equal(client.inFlight, 1);
  });
});

describe("MQTT session: receiving and subscribing", () => {
  it("acknowledges an inbound QoS 1 PUBLISH only after the handler has returned", () => {
    const time = new FakeTime();
    const opener = fakeOpener();
    let writtenDuringHandler = -1;
    const client = new MqttClient(time, base, {
      onConnected() {},
      onMessage: () => { writtenDuringHandler = opener.last.written.length; },
      onDisconnected() {},
    });
    client.connect(opener.open);
    const stream = opener.last;
    stream.accept();
    stream.take();
    stream.send({ cmd: "publish", topic: "d/cmd", payload: Buffer.from("hi"), qos: 1, messageId: 77, retain: false, dup: false });
    assert.equal(writtenDuringHandler, 0);
    assert.deepEqual(stream.take().map((p) => [p.cmd, p.messageId]), [["puback", 77]]);
  });

  it("delivers topic, payload, QoS, retain and DUP to onMessage", () => {
    const { connect, log } = setup();
    const stream = connect();
    stream.accept();
    stream.send({ cmd: "publish", topic: "d/ü", payload: Buffer.from("one"), qos: 0, retain: true, dup: false });
    stream.send({ cmd: "publish", topic: "d/x", payload: Buffer.from("two"), qos: 1, messageId: 5, retain: false, dup: true });
    assert.deepEqual(log.messages, [
      { topic: "d/ü", payload: "one", qos: 0, retain: true, dup: false },
      { topic: "d/x", payload: "two", qos: 1, retain: false, dup: true },
    ]);
  });

  it("keeps running and still acknowledges when the message handler throws", () => {
    const time = new FakeTime();
    const opener = fakeOpener();
    const client = new MqttClient(time, base, { onConnected() {}, onMessage() { throw new Error("boom"); }, onDisconnected() {} });
    client.connect(opener.open);
    opener.last.accept();
    opener.last.take();
    assert.doesNotThrow(() => opener.last.send({ cmd: "publish", topic: "t", payload: Buffer.from(""), qos: 1, messageId: 3, retain: false, dup: false }));
    assert.deepEqual(cmds(opener.last.take()), ["puback"]);
    assert.equal(client.connected, true);
    assert.ok(time.lines.some((l) => l.includes("boom")));
  });

  it("stays connected and keeps reading when the connected handler throws", () => {
    const time = new FakeTime();
    const opener = fakeOpener();
    const messages: string[] = [];
    const client = new MqttClient(time, base, {
      onConnected() { throw new Error("boom"); },
      onMessage(topic) { messages.push(topic); },
      onDisconnected() {},
    });
    client.connect(opener.open);
    opener.last.open();
    opener.last.take();
    assert.doesNotThrow(() => opener.last.send({ cmd: "connack", returnCode: 0, sessionPresent: false }));
    assert.equal(client.connected, true);
    opener.last.send({ cmd: "publish", topic: "t", payload: Buffer.from(""), qos: 0, retain: false, dup: false });
    assert.deepEqual(messages, ["t"]);
    assert.ok(time.lines.some((l) => l.includes("boom")));
  });

  it("surfaces 0x80 per filter from SUBACK", () => {
    const { connect, client } = setup();
    const stream = connect();
    stream.accept();
    stream.take();
    let result: unknown;
    assert.equal(client.subscribe([{ filter: "d/cmd", qos: 1 }, { filter: "other/#", qos: 0 }], (r) => { result = r; }), undefined);
    const [s] = stream.take() as mqttPacket.ISubscribePacket[];
    assert.deepEqual(s.subscriptions.map((x) => [x.topic, x.qos]), [["d/cmd", 1], ["other/#", 0]]);
    stream.send({ cmd: "suback", messageId: s.messageId!, granted: [1, 0x80] });
    assert.deepEqual(result, [1, 0x80]);
  });

  it("refuses more than 8 filters in one SUBSCRIBE and more than 50 subscriptions", () => {
    const { connect, client } = setup();
    const stream = connect();
    stream.accept();
    stream.take();
    const filters = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ filter: `f/${from + i}`, qos: 0 as const }));
    assert.equal(client.subscribe(filters(0, 9), () => {})?.code, "mqtt-too-many-subscriptions");
    for (let i = 0; i < 48; i += 8) {
      client.subscribe(filters(i, 8), () => {});
      const [s] = stream.take();
      stream.send({ cmd: "suback", messageId: s.messageId!, granted: Array(8).fill(0) });
    }
    assert.equal(client.subscribe(filters(48, 2), () => {}), undefined, "50 in all is allowed");
    const [s] = stream.take();
    stream.send({ cmd: "suback", messageId: s.messageId!, granted: [0, 0] });
    assert.equal(client.subscribe(filters(50, 1), () => {})?.code, "mqtt-too-many-subscriptions");
    assert.equal(client.subscribe(filters(0, 1), () => {}), undefined, "re-subscribing an existing filter is not a new subscription");
  });

  it("refuses to subscribe while disconnected and fails a pending SUBSCRIBE when the link drops", () => {
    const { connect, client } = setup();
    assert.equal(client.subscribe([{ filter: "a", qos: 0 }], () => {})?.code, "not-connected");
    const stream = connect();
    stream.accept();
    let result: unknown;
    client.subscribe([{ filter: "a", qos: 0 }], (r) => { result = r; });
    stream.drop({ code: "connection-reset", message: "reset", retryable: true });
    assert.equal((result as { code: string }).code, "connection-reset");
  });

  it("completes UNSUBSCRIBE on UNSUBACK", () => {
    const { connect, client } = setup();
    const stream = connect();
    stream.accept();
    stream.take();
    let done = 0;
    assert.equal(client.unsubscribe(["d/cmd"], () => { done++; }), undefined);
    const [u] = stream.take() as mqttPacket.IUnsubscribePacket[];
    assert.deepEqual(u.unsubscriptions, ["d/cmd"]);
    stream.send({ cmd: "unsuback", messageId: u.messageId! } as mqttPacket.Packet);
    assert.equal(done, 1);
  });
});

describe("MQTT session: keep-alive", () => {
  it("sends PINGREQ after a keep-alive period without sending, and stays up while PINGRESP answers", () => {
    const { time, connect, client, log } = setup({ keepAliveSeconds: 60 });
    const stream = connect();
    stream.accept();
    stream.take();
    for (let minute = 0; minute < 10; minute++) {
      time.advance(60_000);
      const packets = stream.take();
      assert.deepEqual(cmds(packets), ["pingreq"], `minute ${minute + 1}`);
      stream.send({ cmd: "pingresp" });
    }
    assert.equal(client.connected, true);
    assert.deepEqual(log.disconnected, []);
  });

  it("does not ping while the client keeps sending and the server keeps answering", () => {
    const { time, connect, client } = setup({ keepAliveSeconds: 60 });
    const stream = connect();
    stream.accept();
    stream.take();
    for (let i = 0; i < 20; i++) {
      time.advance(10_000);
      client.publish("d/t", utf8("x"), 1);
      const packets = stream.take();
      assert.deepEqual(cmds(packets), ["publish"]);
      stream.send({ cmd: "puback", messageId: packets[0].messageId! });
    }
    assert.equal(client.connected, true);
  });

  it("declares the link dead with mqtt-keepalive-timeout after 1.5x the keep-alive of silence, not before", () => {
    const { time, connect, log } = setup({ keepAliveSeconds: 60 });
    const stream = connect();
    stream.accept();
    time.advance(89_999);
    assert.equal(log.disconnected.length, 0);
    assert.ok(cmds(stream.take()).includes("pingreq"));
    time.advance(20_000);
    assert.deepEqual(log.disconnected.map((f) => [f?.code, f?.retryable]), [["mqtt-keepalive-timeout", true]]);
    assert.equal(stream.closed, true);
    assert.equal(time.pending, 0);
  });

  it("gives up on a server that never answers CONNECT with mqtt-connack-timeout", () => {
    const { time, connect, log } = setup({ keepAliveSeconds: 30 });
    const stream = connect();
    stream.open();
    time.advance(60_000);
    assert.deepEqual(log.disconnected.map((f) => f?.code), ["mqtt-connack-timeout"]);
    assert.deepEqual(cmds(stream.take()), ["connect"]);
  });

  it("runs no timer with keep-alive 0", () => {
    const { time, connect } = setup({ keepAliveSeconds: 0 });
    connect().accept();
    assert.equal(time.pending, 0);
  });
});
