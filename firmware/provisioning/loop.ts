// The connect/retry loop: opens the MQTT session, and after every ending asks the policy
// whether to retry (and when) or to stop with a status. The MQTT client never reconnects by
// itself; this loop is the only place that calls connect().
//
// What a reboot must not forget: when the device last sent CONNECT, and how many boots in a
// row went by without a lasting session. Kept in Preference (ESP32 NVS survives a crash, a
// watchdog reset and a power cut), so that a device crashing in a loop still paces its
// CONNECTs as AWS requires (never two within the spacing, never faster than the backoff) and
// can say that it reboots in a loop.

import type { Failure } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import type { OpenStream } from "../mqtt/client.js";
import type { DeviceState, DeviceStatus } from "../boot/status.js";
import { nextAttemptDelay } from "./backoff.js";
import { attemptStarted, decide, initialState, type PolicyParams } from "./policy.js";

/** Preference keys (at most 15 characters): epoch ms of the last CONNECT, boots without a lasting session. */
export const LAST_CONNECT_KEY = "lastConnect";
export const BOOTS_KEY = "bootsNoSession";
/** From this many boots in a row without a lasting session, the device says it reboots in a loop. */
const REBOOT_LOOP_BOOTS = 3;

/** What the loop needs from the MQTT client (MqttClient satisfies it). */
export interface Connectable {
  connect(open: OpenStream): void;
  /** Ends what is open, if anything (nothing open: does nothing). */
  disconnect(): void;
}

export interface LoopEvents {
  onStatus(status: DeviceStatus): void;
  /** The session is accepted (CONNACK 0). */
  onSessionUp(info: { sessionPresent: boolean }): void;
  /** The session that `onSessionUp` announced is gone. */
  onSessionDown(): void;
  /** The device was accepted for the first time: remember it. */
  onProvisioned(): void;
}

export interface ConnectionLoop {
  readonly attempts: number;
  readonly provisioned: boolean;
  /** Counts this boot and makes the first attempt, paced after the last CONNECT before the reboot. */
  start(): void;
  /** Ends the session (DISCONNECT, so no last will) and cancels any pending retry. */
  stop(): void;
  /** Call on the first server reply after CONNACK (a SUBACK): the certificate is accepted. */
  markProvisioned(): void;
  /** Wire to MqttClientEvents.onConnected. */
  connected(info: { sessionPresent: boolean }): void;
  /** Wire to MqttClientEvents.onDisconnected. */
  disconnected(failure?: Failure): void;
}

/**
 * Creates the loop, idle until `start()`. `open` opens a fresh stream per attempt (a fresh
 * presigned URL, fresh credentials...); `target` names the endpoint in statuses. Never fails:
 * every ending becomes a retry or a final status. `storage` keeps the last CONNECT time and
 * the boots without a lasting session across reboots.
 */
export function createConnectionLoop(
  platform: Pick<Platform, "clock" | "timers" | "log" | "random" | "storage">,
  client: Connectable,
  open: OpenStream,
  params: PolicyParams,
  options: { provisioned: boolean; target: string },
  events: LoopEvents,
): ConnectionLoop {
  const { clock, timers, storage } = platform;
  const { target } = options;
  const state = initialState(options.provisioned);
  let attempts = 0;
  let timer: TimerHandle | undefined;
  let lasting: TimerHandle | undefined;
  let acceptedAt: number | undefined;
  /** Said in the first attempt's status from the third boot in a row without a lasting session. */
  let looping = "";
  let stopped = false;

  /**
   * Logs `line` and, given a state, reports it as the status with `code`, its message `line`
   * after `prefix` (host/fleet/backoff-check.ts reads the log lines as they are).
   */
  const say = (line: string, state?: DeviceState | false, code?: string, level?: Parameters<Platform["log"]>[1], prefix = "") => {
    platform.log("connect: " + line, level);
    if (state) events.onStatus({ state, code, message: prefix + line, attempts });
  };

  function attempt(): void {
    timer = undefined;
    if (stopped) return;
    const now = clock.now();
    attempts += 1;
    attemptStarted(state, now);
    // The first attempt's status says when the device reboots in a loop.
    say(`attempt ${attempts} to ${target} (${state.provisioned ? "provisioned" : "not provisioned yet"})`,
      attempts === 1 && "connecting", looping ? "reboot-loop" : undefined, 1, looping);
    storage.set(LAST_CONNECT_KEY, "" + now);
    client.connect(open);
  }

  return {
    get attempts() { return attempts; },
    get provisioned() { return state.provisioned; },
    start() {
      // This boot, counted (and written back) at once; the first CONNECT waits at least the
      // spacing after the last one before the reboot (a stored time in the future, from a clock
      // set back, counts as now), and from the second boot in a row the backoff of that many retries.
      const now = clock.now();
      const boots = (Number(storage.get(BOOTS_KEY)) | 0) + 1;
      storage.set(BOOTS_KEY, "" + boots);
      const last = Number(storage.get(LAST_CONNECT_KEY));
      const delayMs = nextAttemptDelay(boots - 2, boots < 2 ? 0 : platform.random(), now, last >= 0 ? Math.min(last, now) : undefined, params);
      const without = `boot ${boots} without a lasting session`;
      if (boots >= REBOOT_LOOP_BOOTS) looping = `Rebooting in a loop (${without}): `;
      if (!delayMs) return attempt();
      say(`${without}: first attempt in ${delayMs} ms`);
      timer = timers.setTimeout(attempt, delayMs);
    },
    stop() {
      stopped = true;
      timers.clearTimeout(timer);
      timers.clearTimeout(lasting);
      client.disconnect();
      say("Stopped on request.", "stopped");
    },
    markProvisioned() {
      if (state.provisioned) return;
      state.provisioned = true;
      say("provisioned");
      events.onProvisioned();
    },
    connected(info) {
      acceptedAt = clock.now();
      lasting = timers.setTimeout(() => storage.set(BOOTS_KEY, "0"), params.stableSessionMs);
      say(`accepted on attempt ${attempts} (session present: ${info.sessionPresent})`, "online");
      events.onSessionUp(info);
    },
    disconnected(f) {
      timers.clearTimeout(lasting);
      const now = clock.now();
      const sessionMs = acceptedAt === undefined ? undefined : now - acceptedAt;
      acceptedAt = undefined;
      if (sessionMs !== undefined) events.onSessionDown();
      if (stopped) return;
      const { status: next, code, message, delayMs } = decide(state, f, sessionMs, now, platform.random(), params);
      // One sentence for the log and the status: the ending, then what follows from it.
      say(`attempt ${attempts} ended (${f ? f.code : "closed by the server"}${sessionMs === undefined ? "" : ` after ${sessionMs} ms`}): ${message}`,
        next, code, delayMs === undefined ? 2 : 1);
      if (delayMs !== undefined) timer = timers.setTimeout(attempt, delayMs);
    },
  };
}
