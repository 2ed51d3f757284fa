import assert from "node:assert/strict";
import { failure, type Failure } from "../../firmware/platform/failure.js";
import { simulatedSensor, type Sensor } from "../../firmware/telemetry/sensor.js";
import { createTelemetry, type Publisher, type TelemetryOptions } from "../../firmware/telemetry/telemetry.js";
import { FakeTime } from "../support/fake-time.js";

interface Sent { topic: string; body: Record<string, unknown>; qos: 0 | 1; done?: (f?: Failure) => void }

class FakePublisher implements Publisher {
  sent: Sent[] = [];
  refuse: Failure | undefined;
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, done?: (f?: Failure) => void): Failure | undefined {
    if (this.refuse) return this.refuse;
    this.sent.push({ topic, body: JSON.parse(new TextDecoder().decode(payload)), qos, done });
    return undefined;
  }
  telemetry(): Sent[] {
    return this.sent.filter((s) => s.topic === "dev-1/telemetry");
  }
  ackAll(): void {
    for (const s of this.sent) { const d = s.done; s.done = undefined; d?.(); }
  }
}

const counter = (): Sensor => { let n = 0; return { read: () => ({ n: ++n }) }; };

function setup(overrides: Partial<TelemetryOptions> = {}, sensor: Sensor = counter()) {
  const time = new FakeTime();
  const publisher = new FakePublisher();
  const acked: number[] = [];
  const options: TelemetryOptions = {
    thingName: "dev-1", topicPrefix: "dev-1", telemetryIntervalMs: 1000, queueLimit: 5,
    drainPerSecond: 10, maxInFlight: 3, ...overrides,
  };
  const telemetry = createTelemetry({ clock: time, timers: time, log: time.log }, options, sensor, publisher, (seq) => acked.push(seq));
  return { time, publisher, telemetry, acked, options };
}

describe("telemetry queue", () => {
  it("keeps samples in order and drops the oldest only when full, counting the drops", () => {
    const { time, publisher, telemetry } = setup({ queueLimit: 3, maxInFlight: 10, drainPerSecond: 1000 });
    const dropped = [1, 2, 3, 4, 5].map(() => {
      telemetry.start(); // one sample now
      telemetry.stop();
      return telemetry.stats.dropped;
    });
    assert.deepEqual(dropped, [0, 0, 0, 1, 2]);
    telemetry.online();
    time.advance(10);
    assert.deepEqual(publisher.telemetry().map((s) => [s.body.seq, s.body.dropped]), [[3, 2], [4, undefined], [5, undefined]]);
    assert.equal(telemetry.stats.queued, 0);
  });
});

describe("telemetry", () => {
  it("publishes {thing, seq, ts, readings} with QoS 1 on <thing>/telemetry", () => {
    const { time, publisher, telemetry } = setup();
    telemetry.online();
    telemetry.start();
    time.advance(10);
    const [first] = publisher.telemetry();
    assert.equal(first?.qos, 1);
    assert.deepEqual(first?.body, { thing: "dev-1", seq: 1, ts: time.now() - 10, readings: { n: 1 } });
  });

  it("announces online with QoS 1 on <thing>/status", () => {
    const { publisher, telemetry } = setup();
    telemetry.online();
    assert.equal(publisher.sent[0]?.topic, "dev-1/status");
    assert.equal(publisher.sent[0]?.body.state, "online");
  });

  it("samples once per interval while offline and hands nothing to the client", () => {
    const { time, publisher, telemetry } = setup();
    telemetry.start();
    time.advance(3500);
    assert.equal(publisher.sent.length, 0);
    assert.equal(telemetry.stats.queued, 4);
  });

  it("drains a backlog at the configured rate once back online", () => {
    const { time, publisher, telemetry } = setup({ queueLimit: 50, maxInFlight: 100, drainPerSecond: 4, telemetryIntervalMs: 10_000 });
    for (let i = 0; i < 8; i += 1) { telemetry.start(); telemetry.stop(); } // eight samples without timers
    telemetry.online();
    time.advance(1);
    assert.equal(publisher.telemetry().length, 1);
    time.advance(999);
    assert.equal(publisher.telemetry().length, 5); // at 0, 250, 500, 750, 1000 ms
  });

  it("stops handing over at the in-flight bound and resumes on PUBACK", () => {
    const { time, publisher, telemetry, acked } = setup({ queueLimit: 10, maxInFlight: 2, telemetryIntervalMs: 10_000 });
    for (let i = 0; i < 5; i += 1) { telemetry.start(); telemetry.stop(); }
    telemetry.online();
    time.advance(2000);
    assert.equal(publisher.telemetry().length, 2);
    publisher.ackAll();
    time.advance(2000);
    assert.equal(publisher.telemetry().length, 4);
    assert.deepEqual(acked, [1, 2]);
  });

  it("tells the next message how many samples the full queue dropped", () => {
    const { time, publisher, telemetry } = setup({ queueLimit: 3, maxInFlight: 10 });
    telemetry.start();
    time.advance(5500); // six samples, three kept
    assert.equal(telemetry.stats.dropped, 3);
    telemetry.online();
    time.advance(1000);
    const bodies = publisher.telemetry().map((s) => s.body);
    assert.deepEqual(bodies.slice(0, 3).map((b) => [b.seq, b.dropped]), [[4, 3], [5, undefined], [6, undefined]]);
  });

  it("keeps a sample the client refuses for now and sends it later", () => {
    const { time, publisher, telemetry } = setup();
    publisher.refuse = failure("mqtt-in-flight-full", "full", true);
    telemetry.online();
    telemetry.start();
    time.advance(200);
    publisher.refuse = undefined;
    time.advance(200);
    assert.deepEqual(publisher.telemetry().map((s) => s.body.seq), [1]);
  });

  it("stops handing over when the session goes down and keeps the rest queued", () => {
    const { time, publisher, telemetry } = setup({ telemetryIntervalMs: 100, drainPerSecond: 2, maxInFlight: 10, queueLimit: 20 });
    telemetry.online();
    telemetry.start();
    time.advance(450);
    const before = publisher.telemetry().length;
    telemetry.offline();
    time.advance(2000);
    assert.equal(publisher.telemetry().length, before);
    assert.ok(telemetry.stats.queued > 10);
  });

  it("changes the interval on a command and acknowledges it on <thing>/cmd/ack", () => {
    const { time, publisher, telemetry } = setup({ queueLimit: 100, maxInFlight: 100 });
    telemetry.online();
    telemetry.start();
    telemetry.command(new TextEncoder().encode(JSON.stringify({ id: "c1", intervalMs: 250 })));
    const ack = publisher.sent.find((s) => s.topic === "dev-1/cmd/ack");
    assert.deepEqual(ack?.body, { thing: "dev-1", id: "c1", ok: true, intervalMs: 250 });
    assert.equal(ack?.qos, 1);
    time.advance(1000);
    assert.equal(telemetry.stats.produced, 5);
  });

  it("refuses an out-of-range interval, keeps the old one and says why in the acknowledgement", () => {
    const { publisher, telemetry, options } = setup();
    telemetry.command(new TextEncoder().encode(JSON.stringify({ id: "c2", intervalMs: 5 })));
    const ack = publisher.sent.find((s) => s.topic === "dev-1/cmd/ack");
    assert.equal(ack?.body.ok, false);
    assert.match(String(ack?.body.error), /intervalMs.*100 to 86400000/);
    assert.equal(options.telemetryIntervalMs, 1000);
  });

  it("acknowledges a command that is not JSON with an error", () => {
    const { publisher, telemetry } = setup();
    telemetry.command(new TextEncoder().encode("faster please"));
    assert.equal(publisher.sent.find((s) => s.topic === "dev-1/cmd/ack")?.body.ok, false);
  });

  it("skips a sample the sensor cannot read, without a sequence gap", () => {
    let fail = true;
    const sensor: Sensor = { read: () => (fail ? failure("sensor-read", "i2c timeout") : { t: 1 }) };
    const { time, telemetry } = setup({}, sensor);
    telemetry.start();
    fail = false;
    time.advance(1000);
    assert.equal(telemetry.stats.produced, 1);
    assert.ok(time.lines.some((l) => /sensor read failed: i2c timeout/.test(l)));
  });

  it("simulates plausible readings from the platform's random numbers, repeatably", () => {
    const seq = () => { let x = 0.3; return () => (x = (x * 9301 + 49297) % 233280 / 233280); };
    const a = simulatedSensor(seq());
    const b = simulatedSensor(seq());
    const first = a.read() as Record<string, number>;
    assert.deepEqual(first, b.read());
    assert.ok(first.temperature! > 15 && first.temperature! < 30 && first.humidity! >= 0 && first.humidity! <= 100);
  });
});

describe("telemetry settings changed while it runs", () => {
  it("a new interval restarts the sampling timer at once", () => {
    const { time, publisher, telemetry, options } = setup({ telemetryIntervalMs: 10_000 });
    telemetry.online();
    telemetry.start();
    time.advance(1);
    telemetry.reconfigure({ telemetryIntervalMs: 500 });
    time.advance(1000);
    assert.equal(publisher.telemetry().length, 3);
    assert.equal(options.telemetryIntervalMs, 500);
  });

  it("a smaller queue drops its oldest samples and counts them", () => {
    const { time, telemetry } = setup({ queueLimit: 10 });
    telemetry.start();
    time.advance(4000);
    assert.equal(telemetry.stats.queued, 5);
    telemetry.reconfigure({ queueLimit: 2 });
    assert.equal(telemetry.stats.queued, 2);
    assert.equal(telemetry.stats.dropped, 3);
    time.advance(1000);
    assert.equal(telemetry.stats.queued, 2);
  });

  it("a new drain rate spaces the next publishes by the new gap", () => {
    const { time, publisher, telemetry } = setup({ queueLimit: 10, maxInFlight: 100, drainPerSecond: 1, telemetryIntervalMs: 100 });
    telemetry.start();
    time.advance(350);
    assert.equal(telemetry.stats.queued, 4);
    telemetry.reconfigure({ telemetryIntervalMs: 100_000, drainPerSecond: 10 });
    telemetry.online();
    time.advance(350);
    assert.equal(publisher.telemetry().length, 4, "at 1/s only one would have gone out by now");
  });
});
