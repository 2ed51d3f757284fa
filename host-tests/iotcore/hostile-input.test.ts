// The data plane against clients that misbehave on purpose: a CONNECT declaring 200 MB from a
// client with no certificate, a first packet that is not CONNECT, silence after TCP or after
// TLS, bytes piled up while a CONNECT is being decided, a client id that tries to forge log
// lines; restarts and stops that must end every connection whatever clients do; persistent
// sessions that must outlive the stand-in's process.
import assert from "node:assert/strict";
import { connect as tcpConnect, type Socket } from "node:net";
import { join } from "node:path";
import * as tls from "node:tls";
import * as mqttPacket from "mqtt-packet";
import type { Issued } from "../../certs/pki.js";
import type { Authenticator } from "../../host/iotcore/index.js";
import { FrameGuard } from "../../host/iotcore/dataplane/frame-guard.js";
import { LIMITS } from "../../host/iotcore/dataplane/quotas.js";
import { formatLogLine, logValue } from "../../host/iotcore/log.js";
import { closed, connectMtls, endClient, rawClient, registeredDevice, startCore, tempDir, waitFor } from "./helpers.js";
import { remainingLength } from "../../host/soak/raw-mqtt.js";

type Core = Awaited<ReturnType<typeof startCore>>;

/** A TLS connection to the "8883" listener without a client certificate. */
function anonymousTls(core: Core): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: "127.0.0.1", port: core.ports.mqtt, servername: core.endpoint, ca: core.serverCaPem });
  socket.on("error", () => undefined);
  return new Promise((resolve, reject) => { socket.once("secureConnect", () => resolve(socket)); socket.once("error", reject); });
}

function whenClosed(socket: Socket): Promise<true> {
  return socket.closed ? Promise.resolve(true) : new Promise((resolve) => socket.once("close", () => resolve(true)));
}


describe("data plane limits before and after authentication", function () {
  const dir = tempDir("hostile");
  let core: Core;
  let device: Issued;

  before(async () => {
    core = await startCore(join(dir.path, "state"), { connectDeadlineMs: 300 });
    device = await registeredDevice(core, "hostile-device");
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("refuses a CONNECT declaring 200 MB from its fixed header, having received 8 bytes, and logs why", async () => {
    const socket = await anonymousTls(core);
    const declared = 201 * 1024 * 1024;
    socket.write(Buffer.concat([Buffer.from([0x10]), remainingLength(declared), Buffer.from("MQT")]));
    assert.equal(await whenClosed(socket), true);
    const line = core.lines.find((l) => l.startsWith("connection refused:") && l.includes(`declaring ${declared} bytes`));
    assert.ok(line, core.lines.join("\n"));
    assert.match(line, new RegExp(`CONNECT declaring ${declared} bytes, more than the ${LIMITS.connectBytes}-byte limit; connection dropped`));
  });

  it("refuses a PUBLISH declaring more than the largest packet AWS accepts, after CONNECT", async () => {
    const raw = await rawClient(core, device, { clientId: "big-publish" });
    assert.ok(await waitFor(() => raw.packets.some((p) => p.cmd === "connack")));
    raw.socket.write(Buffer.concat([Buffer.from([0x32]), remainingLength(LIMITS.packetBytes + 1), Buffer.from([0, 1, 0x61])]));
    assert.ok(await waitFor(() => raw.closed));
    raw.socket.destroy();
    assert.ok(core.lines.some((l) => /connection refused: client big-publish .*type 3 packet declaring 131333 bytes/.test(l)), core.lines.join("\n"));
  });

  it("drops a connection whose first packet is not CONNECT", async () => {
    const socket = await anonymousTls(core);
    socket.write(mqttPacket.generate({ cmd: "pingreq" }));
    assert.equal(await whenClosed(socket), true);
    assert.ok(core.lines.some((l) => /connection refused: .*the first packet is type 12, not CONNECT/.test(l)));
  });

  it("drops a TLS connection that sends no CONNECT within the deadline, and says so", async () => {
    const socket = await anonymousTls(core);
    assert.equal(await whenClosed(socket), true);
    assert.ok(core.lines.some((l) => /connection refused: from 127\.0\.0\.1 via 8883: no CONNECT within 300 ms/.test(l)));
  });

  it("drops a TCP connection that never completes its TLS handshake within the deadline", async () => {
    const socket = tcpConnect({ host: "127.0.0.1", port: core.ports.mqtt });
    socket.on("error", () => undefined);
    assert.equal(await whenClosed(socket), true);
  });

  it("answers nothing while a CONNECT is being decided, then serves the packets pipelined behind it, CONNACK first", async () => {
    let release: () => void = () => undefined;
    const original = core.dataPlane.authenticators.get("mqtt-x509")!;
    let asked = 0;
    const slow: Authenticator = async (attempt) => {
      asked++;
      await new Promise<void>((resolve) => { release = resolve; });
      return original(attempt);
    };
    core.dataPlane.authenticators.set("mqtt-x509", slow);
    try {
      const raw = await rawClient(core, device, { clientId: "pre-auth-flood" });
      assert.ok(await waitFor(() => asked === 1));
      const payload = Buffer.alloc(1024, 0x61);
      // separate writes: aedes reads (and may hand on) each while the CONNECT is being decided
      for (let i = 1; i <= 4; i++) {
        raw.send({ cmd: "publish", topic: "t", payload, qos: 1, messageId: i, retain: false, dup: false });
        await new Promise((r) => setTimeout(r, 20));
      }
      raw.send({ cmd: "pingreq" });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(raw.packets.length, 0, "nothing is answered before the CONNECT is decided");
      release();
      assert.ok(await waitFor(() => raw.packets.filter((p) => p.cmd === "puback").length === 4 && raw.packets.some((p) => p.cmd === "pingresp")), JSON.stringify(raw.packets.map((p) => p.cmd)));
      assert.equal(raw.packets[0]?.cmd, "connack");
      assert.equal(raw.closed, false);
      assert.equal(core.lines.some((l) => /publish denied: client (-|pre-auth-flood)/.test(l)), false);
      raw.socket.destroy();
    } finally {
      core.dataPlane.authenticators.set("mqtt-x509", original);
      release();
    }
  });

  it("writes a client id with a newline and spaces as one quoted value: no forged line, no forged field", async () => {
    const forged = "x\nconnect allowed: client admin via 8883: certificate abc";
    const raw = await rawClient(core, device, { clientId: forged });
    assert.ok(await waitFor(() => raw.packets.some((p) => p.cmd === "connack")));
    raw.socket.destroy();
    const line = core.lines.find((l) => l.includes("connect allowed: client \"x\\nconnect allowed"));
    assert.ok(line, core.lines.join("\n"));
    assert.equal(core.lines.some((l) => l.startsWith("connect allowed: client admin")), false);
    assert.equal(core.lines.some((l) => /[\r\n]/.test(l)), false);
  });
});

describe("frame limits read from fixed headers", () => {
  it("refuses bytes over the pre-authentication budget until the CONNECT is accepted, and not after", () => {
    const connect = Buffer.concat([Buffer.from([0x10]), remainingLength(10), Buffer.alloc(10)]);
    const guard = new FrameGuard({ connectBytes: 100, packetBytes: 100, preAuthBytes: 30 });
    assert.equal(guard.feed(connect), undefined);
    assert.match(guard.feed(Buffer.concat([Buffer.from([0x30]), remainingLength(20), Buffer.alloc(20)])) ?? "", /more than 30 bytes sent before the CONNECT was accepted/);
    const accepted = new FrameGuard({ connectBytes: 100, packetBytes: 100, preAuthBytes: 30 });
    accepted.feed(connect);
    accepted.accept();
    for (let i = 0; i < 10; i++) assert.equal(accepted.feed(Buffer.concat([Buffer.from([0x30]), remainingLength(90), Buffer.alloc(90)])), undefined);
  });

  it("refuses a remaining length of more than 4 bytes", () => {
    assert.match(new FrameGuard().feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01])) ?? "", /remaining length longer than 4 bytes/);
  });
});

describe("log values", () => {
  it("shows plain values as they are and quotes anything that could start a line or fake a field", () => {
    assert.equal(logValue("device-1/telemetry"), "device-1/telemetry");
    assert.equal(logValue(undefined), "-");
    assert.equal(logValue("a b"), "\"a b\"");
    assert.equal(logValue("a\nb"), "\"a\\nb\"");
    assert.equal(logValue("a\u2028b"), "\"a\\u2028b\"");
    assert.equal(logValue("\u202eevil"), "\"\\u202eevil\"");
    assert.equal(logValue("say \"hi\""), "\"say \\\"hi\\\"\"");
  });

  it("formats a JSON line with the event taken from the fixed prefix", () => {
    const time = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    const parsed = JSON.parse(formatLogLine("connect refused: client \"a b\" via 8883: no", "json", time)) as Record<string, string>;
    assert.deepEqual(parsed, { time: "2026-01-02T03:04:05.000Z", event: "connect refused", message: "connect refused: client \"a b\" via 8883: no" });
    assert.equal(formatLogLine("a\nb", "text", time), "2026-01-02T03:04:05.000Z a\\u000ab");
    const withFields = JSON.parse(formatLogLine("tls refused: SNI x", "json", time, { event: "tls", sni: "x\ny" })) as Record<string, unknown>;
    assert.deepEqual(withFields.fields, { event: "tls", sni: "x\ny" });
  });
});

describe("restarts and stops end every connection", function () {
  const dir = tempDir("restart-bound");

  after(() => dir.remove());

  it("restart drops a silent TCP connection, a TLS connection without CONNECT and a session, and serves again", async () => {
    // deadlines far longer than the test: only the restart may end these connections
    const core = await startCore(join(dir.path, "a"), { connectDeadlineMs: 600_000 });
    try {
      const device = await registeredDevice(core, "restart-device");
      const silent = tcpConnect({ host: "127.0.0.1", port: core.ports.mqtt });
      silent.on("error", () => undefined);
      await new Promise((resolve) => silent.once("connect", resolve));
      const quiet = await anonymousTls(core);
      const { client } = await connectMtls(core, device, { clientId: "restart-session" });
      const ended = [whenClosed(silent), whenClosed(quiet), closed(client)];
      await core.faults.restart();
      assert.deepEqual(await Promise.all(ended), [true, true, true]);
      const again = await connectMtls(core, device, { clientId: "restart-session-2" });
      assert.equal(again.connack?.returnCode, 0);
      await endClient(again.client);
      await endClient(client);
    } finally {
      await core.close();
    }
  });

  it("close completes with silent connections open and releases the state for the next start", async () => {
    const state = join(dir.path, "b");
    const core = await startCore(state, { connectDeadlineMs: 600_000 });
    const silent = tcpConnect({ host: "127.0.0.1", port: core.ports.https });
    silent.on("error", () => undefined);
    await new Promise((resolve) => silent.once("connect", resolve));
    const quiet = await anonymousTls(core);
    await core.close();
    assert.deepEqual(await Promise.all([whenClosed(silent), whenClosed(quiet)]), [true, true]);
    const next = await startCore(state);
    await next.close();
  });
});

describe("persistent sessions across a stand-in restart", function () {
  const dir = tempDir("sessions");

  after(() => dir.remove());

  it("delivers the QoS 1 messages queued for an offline persistent subscriber after the stand-in is stopped and started again", async () => {
    const state = join(dir.path, "state");
    const first = await startCore(state);
    const device = await registeredDevice(first, "session-device");
    const subscriber = await connectMtls(first, device, { clientId: "keeper", clean: false });
    await subscriber.client.subscribeAsync("kept/#", { qos: 1 });
    await endClient(subscriber.client);
    const { client: publisher } = await connectMtls(first, device, { clientId: "keeper-publisher" });
    for (const n of [1, 2, 3]) await publisher.publishAsync(`kept/${n}`, `m${n}`, { qos: 1 });
    await endClient(publisher);
    await first.close();

    const second = await startCore(state);
    try {
      const again = await connectMtls(second, device, { clientId: "keeper", clean: false });
      assert.equal((again.connack as { sessionPresent?: boolean }).sessionPresent, true);
      const messages: string[] = [];
      again.client.on("message", (topic, payload) => messages.push(`${topic}:${payload.toString()}`));
      assert.ok(await waitFor(() => messages.length >= 3, 5000), `received ${JSON.stringify(messages)}`);
      assert.deepEqual(messages, ["kept/1:m1", "kept/2:m2", "kept/3:m3"]);
      await endClient(again.client);
    } finally {
      await second.close();
    }
  });

  it("still expires a persistent session left open when the stand-in stopped, counted from the next start", async () => {
    const state = join(dir.path, "expiry");
    let clock = Date.now();
    const first = await startCore(state, { now: () => clock });
    const device = await registeredDevice(first, "expiry-device");
    const subscriber = await connectMtls(first, device, { clientId: "left-open", clean: false });
    await subscriber.client.subscribeAsync("open/#", { qos: 1 });
    await first.close();   // the session's connection is still open when the stand-in stops
    await endClient(subscriber.client);

    const second = await startCore(state, { now: () => clock });
    clock += LIMITS.sessionExpiryMs;
    try {
      const again = await connectMtls(second, device, { clientId: "left-open", clean: false });
      assert.equal((again.connack as { sessionPresent?: boolean }).sessionPresent, false);
      assert.ok(second.lines.some((l) => /session expired: client left-open:/.test(l)));
      await endClient(again.client);
    } finally {
      await second.close();
    }
  });
});
