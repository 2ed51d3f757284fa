// Periodic telemetry with acknowledged delivery: samples go into the bounded offline queue and
// are handed to the MQTT client at a bounded rate while the session is up. Once handed over, a
// QoS 1 message belongs to the client's in-flight table, which survives disconnects and is
// resent after the next CONNACK, so nothing acknowledged-delivery is lost across reconnects.
//
// A closure rather than a class: its state is plain local variables. The settings are read from
// `options` (the device config) at each use, so a change to them applies at once.

import type { DeviceConfig } from "../config/config.js";
import type { Failure } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import { commandAckPayload, parseCommand, statusPayload, telemetryPayload, topicsFor } from "./messages.js";
import type { Sample } from "./queue.js";
import type { Sensor } from "./sensor.js";

/** What telemetry needs from the MQTT client (MqttClient satisfies it). */
export interface Publisher {
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, done?: (failure?: Failure) => void, retain?: boolean): Failure | undefined;
}

/** The device config's own fields; topics hang off `topicPrefix`. */
export type TelemetryOptions = Pick<DeviceConfig, "thingName" | "topicPrefix" | TelemetrySetting>;

/** The settings telemetry applies while it runs (`reconfigure`). */
export type TelemetrySetting = "telemetryIntervalMs" | "queueLimit" | "drainPerSecond" | "maxInFlight";

export interface TelemetryStats {
  produced: number;
  acked: number;
  dropped: number;
  queued: number;
  inFlight: number;
}

export interface Telemetry {
  readonly stats: TelemetryStats;
  /** Starts sampling: the first sample now, then one per interval, online or not. */
  start(): void;
  stop(): void;
  /** The session is up: announce it and drain what waited. */
  online(): void;
  /** The session is down: keep sampling into the queue, hand nothing more to the client. */
  offline(): void;
  /**
   * A message on the command topic: change the interval (in `options`, not kept in Preference)
   * and acknowledge either way.
   */
  command(payload: Uint8Array): void;
  /**
   * Writes checked settings into `options` and applies them at once: an interval restarts the
   * sampling timer, a smaller queue drops its oldest samples (counted as dropped), a new
   * drain rate or in-flight bound takes effect from the next publish.
   */
  reconfigure(changes: Partial<Pick<DeviceConfig, TelemetrySetting>>): void;
}

/**
 * Creates the telemetry pipeline, idle until `start()`. Never fails. The offline queue holds at
 * most `options.queueLimit` samples: when full the oldest goes, and the count of samples dropped
 * so since the last message is told to the next one.
 */
export function createTelemetry(
  platform: Pick<Platform, "clock" | "timers" | "log">,
  options: TelemetryOptions,
  sensor: Sensor,
  publisher: Publisher,
  /** A telemetry message was acknowledged by the server (PUBACK). */
  onAcked?: (seq: number) => void,
): Telemetry {
  const { clock, timers } = platform;
  const { thingName } = options;
  const topics = topicsFor(options.topicPrefix);
  const queue: Sample[] = [];
  let sampleTimer: TimerHandle | undefined;
  let drainTimer: TimerHandle | undefined;
  let online = false;
  let running = false;
  let produced = 0;
  let inFlight = 0;
  let acked = 0;
  let dropped = 0;
  // Dropped from the full queue since the last message handed over (that message says so).
  let unreported = 0;

  const log: Platform["log"] = (line, level) => platform.log("telemetry: " + line, level);
  const cancel = (timer: TimerHandle | undefined) => timer !== undefined && timers.clearTimeout(timer);
  const scheduleSample = () => {
    cancel(sampleTimer);
    sampleTimer = timers.setTimeout(sample, options.telemetryIntervalMs);
  };
  const scheduleDrain = (ms: number) => {
    if (online && drainTimer === undefined && queue.length) drainTimer = timers.setTimeout(drain, ms);
  };
  const trim = () => {
    while (queue.length > options.queueLimit) {
      queue.shift();
      dropped += 1;
      unreported += 1;
      log("queue full, oldest sample dropped", 2);
    }
  };
  const sampleEvery = (ms: number, by = "") => {
    options.telemetryIntervalMs = ms;
    log(`sampling every ${ms} ms${by}`);
    if (running) scheduleSample();
  };

  function sample(): void {
    sampleTimer = undefined;
    if (!running) return;
    const readings = sensor.read();
    if (typeof readings.code === "string") {
      log("sensor read failed: " + (readings as Failure).message, 2);
    } else {
      queue.push({ seq: ++produced, ts: clock.now(), readings: readings as Record<string, number> });
      trim();
      scheduleDrain(0);
    }
    scheduleSample();
  }

  /** Hands one sample to the client, then waits 1/rate before the next. */
  function drain(): void {
    drainTimer = undefined;
    const next = queue[0];
    if (!online || inFlight >= options.maxInFlight || !next) return; // a PUBACK restarts it
    const { seq } = next;
    const refused = publisher.publish(topics.telemetry, telemetryPayload(thingName, next, unreported), 1, (f) => {
      inFlight -= 1;
      if (f) log(`sample ${seq} failed: ${f.code}`, 2);
      else {
        acked += 1;
        onAcked?.(seq);
      }
      scheduleDrain(gap());
    });
    if (refused?.retryable) log(`sample ${seq} kept: ${refused.code}`, 0);
    else {
      queue.shift();
      if (!refused) {
        unreported = 0;
        inFlight += 1;
      } else {
        // Invalid for good (a payload too large): say so and move on rather than block the queue.
        dropped += 1;
        log(`sample ${seq} dropped: ${refused.message}`, 2);
      }
    }
    scheduleDrain(gap());
  }
  const gap = () => Math.ceil(1000 / options.drainPerSecond);

  return {
    get stats() { return { produced, acked, dropped, queued: queue.length, inFlight }; },
    start() {
      if (running) return;
      sampleEvery(options.telemetryIntervalMs); // before running: sample() schedules the next
      running = true;
      sample();
    },
    stop() {
      running = online = false;
      cancel(sampleTimer);
      cancel(drainTimer);
      sampleTimer = drainTimer = undefined;
    },
    online() {
      online = true;
      publisher.publish(topics.status, statusPayload(thingName, "online", clock.now()), 1);
      scheduleDrain(0);
    },
    offline() {
      online = false;
      cancel(drainTimer);
      drainTimer = undefined;
    },
    reconfigure(changes) {
      // The config may hold the change already (config/live writes it before calling this).
      Object.assign(options, changes);
      trim();
      scheduleDrain(0);
      if (changes.telemetryIntervalMs) sampleEvery(changes.telemetryIntervalMs);
    },
    command(payload) {
      const parsed = parseCommand(payload);
      if ("error" in parsed) log("command refused: " + parsed.error, 2);
      else sampleEvery(parsed.intervalMs, " by command " + parsed.id);
      const refused = publisher.publish(topics.commandAck, commandAckPayload(thingName, parsed), 1);
      if (refused) log("command ack not sent: " + refused.code, 2);
    },
  };
}
