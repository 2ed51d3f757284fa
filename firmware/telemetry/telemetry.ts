// Periodic telemetry with acknowledged delivery: samples go into the bounded offline queue and
// are handed to the MQTT client at a bounded rate while the session is up. Once handed over, a
// QoS 1 message belongs to the client's in-flight table, which survives disconnects and is
// resent after the next CONNACK, so nothing acknowledged-delivery is lost across reconnects.

import type { Failure } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import { commandAckPayload, parseCommand, statusPayload, telemetryPayload, type Topics } from "./messages.js";
import { SampleQueue } from "./queue.js";
import type { Sensor } from "./sensor.js";

/** What telemetry needs from the MQTT client (MqttClient satisfies it). */
export interface Publisher {
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, done?: (failure?: Failure) => void, retain?: boolean): Failure | undefined;
}

export interface TelemetryOptions {
  thing: string;
  topics: Topics;
  intervalMs: number;
  queueLimit: number;
  drainPerSecond: number;
  maxInFlight: number;
  /** Bounds for the interval a command may set. */
  minIntervalMs: number;
  maxIntervalMs: number;
}

export interface TelemetryEvents {
  /** A telemetry message was acknowledged by the server (PUBACK). */
  onAcked?(seq: number): void;
  onIntervalChanged?(intervalMs: number): void;
}

export interface TelemetryStats {
  produced: number;
  acked: number;
  dropped: number;
  queued: number;
  inFlight: number;
}

export class Telemetry {
  readonly #platform: Pick<Platform, "clock" | "timers" | "log">;
  readonly #options: TelemetryOptions;
  readonly #sensor: Sensor;
  readonly #publisher: Publisher;
  readonly #events: TelemetryEvents;
  readonly #queue: SampleQueue;
  #intervalMs: number;
  #sampleTimer: TimerHandle | undefined;
  #drainTimer: TimerHandle | undefined;
  #online = false;
  #running = false;
  #seq = 0;
  #inFlight = 0;
  #acked = 0;
  #droppedTotal = 0;

  constructor(
    platform: Pick<Platform, "clock" | "timers" | "log">,
    options: TelemetryOptions,
    sensor: Sensor,
    publisher: Publisher,
    events: TelemetryEvents = {},
  ) {
    this.#platform = platform;
    this.#options = options;
    this.#sensor = sensor;
    this.#publisher = publisher;
    this.#events = events;
    this.#queue = new SampleQueue(options.queueLimit);
    this.#intervalMs = options.intervalMs;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  get stats(): TelemetryStats {
    return { produced: this.#seq, acked: this.#acked, dropped: this.#droppedTotal, queued: this.#queue.length, inFlight: this.#inFlight };
  }

  /** Starts sampling: the first sample now, then one per interval, online or not. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#log(`sampling every ${this.#intervalMs} ms`);
    this.#sample();
  }

  stop(): void {
    this.#running = false;
    this.#online = false;
    this.#clear();
  }

  /** The session is up: announce it and drain what waited. */
  online(): void {
    this.#online = true;
    this.#publisher.publish(this.#options.topics.status, statusPayload(this.#options.thing, "online", this.#platform.clock.now()), 1);
    this.#scheduleDrain(0);
  }

  /** The session is down: keep sampling into the queue, hand nothing more to the client. */
  offline(): void {
    this.#online = false;
    if (this.#drainTimer !== undefined) this.#platform.timers.clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  /** A message on the command topic: change the interval and acknowledge either way. */
  command(payload: Uint8Array): void {
    const { minIntervalMs, maxIntervalMs, thing, topics } = this.#options;
    const parsed = parseCommand(payload, minIntervalMs, maxIntervalMs);
    if ("error" in parsed) {
      this.#log(`command refused: ${parsed.error}`);
    } else {
      this.#intervalMs = parsed.intervalMs;
      this.#log(`interval ${parsed.intervalMs} ms by command ${parsed.id}`);
      if (this.#running) this.#rescheduleSampling();
      this.#events.onIntervalChanged?.(parsed.intervalMs);
    }
    const ack = commandAckPayload(thing, parsed.id, "error" in parsed ? parsed : { intervalMs: parsed.intervalMs });
    const refused = this.#publisher.publish(topics.commandAck, ack, 1);
    if (refused) this.#log(`command ack not sent: ${refused.code}`);
  }

  #sample(): void {
    this.#sampleTimer = undefined;
    if (!this.#running) return;
    const readings = this.#sensor.read();
    if ("code" in readings && typeof readings.code === "string") {
      this.#log(`sensor read failed: ${(readings as Failure).message}`);
    } else {
      this.#seq += 1;
      if (this.#queue.push({ seq: this.#seq, ts: this.#platform.clock.now(), readings: readings as Record<string, number> })) {
        this.#droppedTotal += 1;
        this.#log("queue full, oldest sample dropped");
      }
      this.#scheduleDrain(0);
    }
    this.#sampleTimer = this.#platform.timers.setTimeout(() => this.#sample(), this.#intervalMs);
  }

  #rescheduleSampling(): void {
    if (this.#sampleTimer !== undefined) this.#platform.timers.clearTimeout(this.#sampleTimer);
    this.#sampleTimer = this.#platform.timers.setTimeout(() => this.#sample(), this.#intervalMs);
  }

  #scheduleDrain(ms: number): void {
    if (!this.#online || this.#drainTimer !== undefined || this.#queue.length === 0) return;
    this.#drainTimer = this.#platform.timers.setTimeout(() => this.#drain(), ms);
  }

  /** Hands one sample to the client, then waits 1/rate before the next. */
  #drain(): void {
    this.#drainTimer = undefined;
    if (!this.#online || this.#inFlight >= this.#options.maxInFlight) return; // a PUBACK restarts it
    const sample = this.#queue.peek();
    if (!sample) return;
    const payload = telemetryPayload(this.#options.thing, sample, this.#queue.dropped);
    const refused = this.#publisher.publish(this.#options.topics.telemetry, payload, 1, (f) => this.#onAck(sample.seq, f));
    if (!refused) {
      this.#queue.shift();
      this.#queue.takeDropped();
      this.#inFlight += 1;
    } else if (!refused.retryable) {
      // Invalid for good (a payload too large): say so and move on rather than block the queue.
      this.#queue.shift();
      this.#droppedTotal += 1;
      this.#log(`sample ${sample.seq} dropped: ${refused.message}`);
    } else {
      this.#log(`sample ${sample.seq} kept: ${refused.code}`);
    }
    this.#scheduleDrain(Math.ceil(1000 / this.#options.drainPerSecond));
  }

  #onAck(seq: number, f: Failure | undefined): void {
    this.#inFlight -= 1;
    if (f) {
      this.#log(`sample ${seq} failed: ${f.code}`);
    } else {
      this.#acked += 1;
      this.#events.onAcked?.(seq);
    }
    this.#scheduleDrain(Math.ceil(1000 / this.#options.drainPerSecond));
  }

  #log(line: string): void {
    this.#platform.log("telemetry: " + line);
  }

  #clear(): void {
    if (this.#sampleTimer !== undefined) this.#platform.timers.clearTimeout(this.#sampleTimer);
    if (this.#drainTimer !== undefined) this.#platform.timers.clearTimeout(this.#drainTimer);
    this.#sampleTimer = this.#drainTimer = undefined;
  }
}
