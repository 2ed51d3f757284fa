// The connect/retry loop: opens the MQTT session, and after every ending asks the policy
// whether to retry (and when) or to stop with a status. The MQTT client never reconnects by
// itself; this loop is the only place that calls connect().

import type { Failure } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import type { OpenStream } from "../mqtt/client.js";
import type { DeviceState, DeviceStatus } from "../boot/status.js";
import { attemptStarted, decide, initialState, type PolicyParams } from "./policy.js";
import { BOOTS_KEY, countBoot, LAST_CONNECT_KEY, REBOOT_LOOP_BOOTS } from "./reboots.js";

/** What the loop needs from the MQTT client (MqttClient satisfies it). */
export interface Connectable {
  connect(open: OpenStream): void;
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
 * the boots without a lasting session across reboots (reboots.ts).
 */
export function createConnectionLoop(
  platform: Pick<Platform, "clock" | "timers" | "log" | "random" | "storage">,
  client: Connectable,
  open: OpenStream,
  params: PolicyParams,
  options: { provisioned: boolean; target: string },
  events: LoopEvents,
): ConnectionLoop {
  const { clock, timers } = platform;
  const { target } = options;
  const state = initialState(options.provisioned);
  let attempts = 0;
  let timer: TimerHandle | undefined;
  let lasting: TimerHandle | undefined;
  let acceptedAt: number | undefined;
  let boots = 0;
  let active = false;
  let stopped = false;

  const log: Platform["log"] = (line, level) => platform.log("connect: " + line, level);
  const status = (state: DeviceState, message: string, code?: string) =>
    events.onStatus({ state, code, message, attempts });

  function attempt(): void {
    timer = undefined;
    if (stopped) return;
    attempts += 1;
    attemptStarted(state, clock.now());
    const line = `attempt ${attempts} to ${target} (${state.provisioned ? "provisioned" : "not provisioned yet"})`;
    log(line);
    if (attempts === 1) {
      const looping = boots >= REBOOT_LOOP_BOOTS;
      status("connecting", `${looping ? `Rebooting in a loop (boot ${boots} without a lasting session): ` : ""}${line}`, looping ? "reboot-loop" : undefined);
    }
    platform.storage.set(LAST_CONNECT_KEY, "" + clock.now());
    active = true;
    client.connect(open);
  }

  return {
    get attempts() { return attempts; },
    get provisioned() { return state.provisioned; },
    start() {
      const first = countBoot(platform.storage, clock.now(), platform.random(), params);
      boots = first.boots;
      if (!first.delayMs) return attempt();
      log(`boot ${boots} without a lasting session: first attempt in ${first.delayMs} ms`);
      timer = timers.setTimeout(attempt, first.delayMs);
    },
    stop() {
      stopped = true;
      timers.clearTimeout(timer);
      timers.clearTimeout(lasting);
      if (active) client.disconnect();
      status("stopped", "Stopped on request.");
    },
    markProvisioned() {
      if (state.provisioned) return;
      state.provisioned = true;
      log("provisioned");
      events.onProvisioned();
    },
    connected(info) {
      acceptedAt = clock.now();
      lasting = timers.setTimeout(() => platform.storage.set(BOOTS_KEY, "0"), params.stableSessionMs);
      log(`accepted on attempt ${attempts} (session present: ${info.sessionPresent})`);
      status("online", `Connected to ${target}.`);
      events.onSessionUp(info);
    },
    disconnected(f) {
      active = false;
      timers.clearTimeout(lasting);
      const now = clock.now();
      const sessionMs = acceptedAt === undefined ? undefined : now - acceptedAt;
      acceptedAt = undefined;
      if (sessionMs !== undefined) events.onSessionDown();
      if (stopped) return;
      const { status: next, code, message, delayMs } = decide(state, f, sessionMs, now, platform.random(), params);
      // One sentence for the log and the status: the ending, then what follows from it.
      const line = `attempt ${attempts} ended (${f ? f.code : "closed by the server"}${sessionMs === undefined ? "" : ` after ${sessionMs} ms`}): ${message}`;
      log(line, delayMs === undefined ? 2 : 1);
      if (next) status(next, line, code);
      if (delayMs !== undefined) timer = timers.setTimeout(attempt, delayMs);
    },
  };
}
