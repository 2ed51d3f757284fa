// The connect/retry loop: opens the MQTT session, and after every ending asks the policy
// whether to retry (and when) or to stop with a status. The MQTT client never reconnects by
// itself; this loop is the only place that calls connect().

import type { Failure, Result } from "../platform/failure.js";
import type { Platform, TimerHandle } from "../platform/seam.js";
import type { OpenStream } from "../mqtt/client.js";
import type { DeviceStatus } from "../boot/status.js";
import { attemptStarted, decide, initialState, type LoopState, type PolicyParams } from "./policy.js";

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

export class ConnectionLoop {
  readonly #platform: Pick<Platform, "clock" | "timers" | "log" | "random">;
  readonly #client: Connectable;
  readonly #link: () => Result<OpenStream>;
  readonly #params: PolicyParams;
  readonly #events: LoopEvents;
  readonly #target: string;
  #state: LoopState;
  #attempts = 0;
  #timer: TimerHandle | undefined;
  #acceptedAt: number | undefined;
  #active = false;
  #stopped = false;

  /** `link` prepares the stream for one attempt (a fresh presigned URL, a fresh token...). */
  constructor(
    platform: Pick<Platform, "clock" | "timers" | "log" | "random">,
    client: Connectable,
    link: () => Result<OpenStream>,
    params: PolicyParams,
    options: { provisioned: boolean; target: string },
    events: LoopEvents,
  ) {
    this.#platform = platform;
    this.#client = client;
    this.#link = link;
    this.#params = params;
    this.#events = events;
    this.#target = options.target;
    this.#state = initialState(options.provisioned);
  }

  get attempts(): number {
    return this.#attempts;
  }

  get provisioned(): boolean {
    return this.#state.provisioned;
  }

  start(): void {
    this.#attempt();
  }

  /** Ends the session (DISCONNECT, so no last will) and cancels any pending retry. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#platform.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#active) this.#client.disconnect();
    this.#status("stopped", "Stopped on request.");
  }

  /** Call on the first server reply after CONNACK (a SUBACK): the certificate is accepted. */
  markProvisioned(): void {
    if (this.#state.provisioned) return;
    this.#state = { ...this.#state, provisioned: true };
    this.#log("provisioned: the server accepts this certificate");
    this.#events.onProvisioned();
  }

  /** Wire to MqttClientEvents.onConnected. */
  connected(info: { sessionPresent: boolean }): void {
    this.#acceptedAt = this.#platform.clock.now();
    this.#log(`accepted on attempt ${this.#attempts} (session present: ${info.sessionPresent})`);
    this.#status("online", `Connected to ${this.#target}.`);
    this.#events.onSessionUp(info);
  }

  /** Wire to MqttClientEvents.onDisconnected. */
  disconnected(f?: Failure): void {
    this.#active = false;
    const now = this.#platform.clock.now();
    const acceptedAt = this.#acceptedAt;
    const accepted = acceptedAt !== undefined;
    const sessionMs = accepted ? now - acceptedAt : 0;
    this.#acceptedAt = undefined;
    if (accepted) this.#events.onSessionDown();
    if (this.#stopped) return;
    const decision = decide(this.#state, { failure: f, accepted, sessionMs }, now, this.#platform.random(), this.#params);
    this.#state = decision.state;
    const what = f ? f.code : "closed by the server";
    if (decision.action === "stop") {
      this.#log(`giving up after attempt ${this.#attempts} (${what})`);
      return this.#status(decision.status, decision.failure.message, decision.failure.code);
    }
    const why = decision.why;
    if (decision.takeoverDetected) {
      this.#status("takeover", `Another connection keeps taking over this client id (${decision.state.shortSessions} short sessions): check that no other device uses this certificate or client id; retrying every ${Math.round(this.#params.capMs / 1000)} s.`, "client-id-takeover");
    } else if (why !== "takeover") {
      this.#status(why === "provisioning" ? "provisioning" : "reconnecting", `Connection lost (${what})${why === "provisioning" ? " while provisioning" : ""}; retrying.`, f?.code);
    }
    this.#log(`attempt ${this.#attempts} ended (${what}${accepted ? ` after ${sessionMs} ms` : ""}): ${why === "provisioning" ? "still provisioning" : why}; next attempt in ${decision.delayMs} ms`);
    this.#timer = this.#platform.timers.setTimeout(() => this.#attempt(), decision.delayMs);
  }

  #attempt(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const link = this.#link();
    if (!link.ok) {
      // The stream could not even be prepared (expired credentials, bad mode settings).
      return this.disconnected(link.failure);
    }
    this.#attempts += 1;
    this.#state = attemptStarted(this.#state, this.#platform.clock.now());
    this.#log(`attempt ${this.#attempts} to ${this.#target} (${this.#state.provisioned ? "provisioned" : "not provisioned yet"})`);
    if (this.#attempts === 1) this.#status("connecting", `Connecting to ${this.#target}.`);
    this.#active = true;
    this.#client.connect(link.value);
  }

  #log(line: string): void {
    this.#platform.log("connect: " + line);
  }

  #status(state: DeviceStatus["state"], message: string, code?: string): void {
    this.#events.onStatus(code ? { state, code, message, attempts: this.#attempts } : { state, message, attempts: this.#attempts });
  }
}
