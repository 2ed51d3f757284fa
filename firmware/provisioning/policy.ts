// What to do after a connection attempt or a session ends: retry (and why, and when) or stop
// with a status a person can act on. Pure: time and randomness are passed in.
//
// A fresh JITP/JITR certificate is dropped on its first connect(s) while AWS provisions it: the
// TLS session is reset, or the MQTT connection is closed before or right after CONNACK. Those
// are "still provisioning" until the device has once been accepted (then it remembers that it
// is provisioned). Other failures will never heal by retrying: say so instead of looping.

import type { DeviceConfig } from "../config/config.js";
import type { Failure } from "../platform/failure.js";
import type { TransportFailureCode } from "../platform/seam.js";
import { nextAttemptDelay } from "./backoff.js";
// JITP/JITR (jit.ts): the certificate modes' builds map it there, the others to jit-none.ts.
import { certificateAlertAdvice, NOT_PROVISIONED_ADVICE } from "./jit.js";

export type FailureClass = "provisioning" | "network" | "permanent";

/** The device config's own fields (their meaning is documented there). */
export type PolicyParams = Pick<DeviceConfig, "backoffBaseMs" | "backoffCapMs" | "connectSpacingMs" | "provisioningAttempts"
  | "provisioningGraceMs" | "reconnectAttempts" | "stableSessionMs" | "takeoverThreshold">;

export interface LoopState {
  provisioned: boolean;
  /** Attempts since the last stable session: drives the backoff exponent and the limit. */
  failures: number;
  firstAttemptAt?: number;
  /** Accepted sessions in a row that the server closed before they became stable. */
  shortSessions: number;
  takeoverSuspected: boolean;
}

export function initialState(provisioned: boolean): LoopState {
  return { provisioned, failures: 0, shortSessions: 0, takeoverSuspected: false };
}

/** How the attempt ended: before the session was accepted, or a session that was accepted. */
export interface Ending {
  failure?: Failure;
  /** CONNACK accepted: the session existed for `sessionMs`. */
  accepted: boolean;
  sessionMs: number;
}

export type Decision =
  | { action: "retry"; why: FailureClass | "takeover"; delayMs: number; state: LoopState; takeoverDetected: boolean }
  | { action: "stop"; status: "refused" | "gave-up"; failure: Failure; state: LoopState };

// Each transport failure code's fate (the seam's union; the compiler holds this table to it).
// DROPPED: what JITP/JITR does to a certificate it is still provisioning, so it means
// "provisioning" until the device has once been accepted; NETWORK: worth retrying; PERMANENT:
// retrying cannot heal it. TLS alerts are decided below, by name.
const CLOSED = "connection-closed";
const PERMANENT = 0;
const DROPPED = 1;
const NETWORK = 2;
type Fate = typeof PERMANENT | typeof DROPPED | typeof NETWORK;
export const TRANSPORT_FATES: Readonly<Record<Exclude<TransportFailureCode, `tls-alert-${string}`>, Fate>> = {
  "tls-untrusted-server": PERMANENT,
  "tls-hostname-mismatch": PERMANENT,
  "tls-alpn-refused": PERMANENT,
  "tls-setup-failed": PERMANENT,
  "tls-handshake-reset": DROPPED,
  "connection-reset": DROPPED,
  [CLOSED]: DROPPED,
  "connection-refused": NETWORK,
  "connection-timeout": NETWORK,
  "dns-failure": NETWORK,
};

// The MQTT client's endings that retrying can heal (its other codes say whether they are retryable).
const MQTT_FATES: Readonly<Record<string, Fate>> = {
  "mqtt-closed-before-connack": DROPPED,
  "mqtt-connack-timeout": DROPPED,
  "connack-server-unavailable": NETWORK,
  "mqtt-keepalive-timeout": NETWORK,
};

/**
 * Sorts a failure into "provisioning" (a drop that JITP/JITR causes on a device not yet
 * provisioned), "network" (worth retrying) or "permanent", by its code: the transport codes and
 * the MQTT client's by the tables above, TLS alerts by name (those about the client
 * certificate mean "provisioning" within the grace time, in a build with JITP/JITR); any other code by its `retryable`.
 * An undefined failure is an orderly close by the server. Never fails.
 */
export function classify(failure: Failure | undefined, provisioned: boolean, withinGrace: boolean): FailureClass {
  const code = failure?.code ?? CLOSED;
  const fate = code in TRANSPORT_FATES ? TRANSPORT_FATES[code as keyof typeof TRANSPORT_FATES] : MQTT_FATES[code]
    ?? (certificateAlertAdvice?.(code, provisioned) ? (!provisioned && withinGrace ? DROPPED : PERMANENT)
      : code.startsWith("tls-alert-") || !failure?.retryable ? PERMANENT : NETWORK);
  return fate === PERMANENT ? "permanent" : fate === NETWORK || provisioned ? "network" : "provisioning";
}

/**
 * Decides after an attempt or session ends at `now`. Returns "stop" with status "refused" for a
 * permanent failure, "gave-up" when the configured attempt limit is reached; otherwise "retry"
 * with the delay until the next attempt. Never fails.
 */
export function decide(state: LoopState, ending: Ending, now: number, random: number, params: PolicyParams): Decision {
  const next: LoopState = { ...state };
  const stable = ending.accepted && ending.sessionMs >= params.stableSessionMs;
  if (stable) {
    next.failures = 0;
    next.shortSessions = 0;
    next.firstAttemptAt = undefined;
  } else {
    next.failures += 1;
    if (ending.accepted) next.shortSessions += 1;
  }
  const withinGrace = next.firstAttemptAt === undefined || now - next.firstAttemptAt < params.provisioningGraceMs;
  const why = classify(ending.failure, next.provisioned, withinGrace);
  if (why === "permanent") {
    // An orderly close (no failure) is never permanent (classify), so a permanent failure is at hand.
    return { action: "stop", status: "refused", failure: explainPermanent(ending.failure!, next.provisioned), state: next };
  }
  const limit = next.provisioned ? params.reconnectAttempts : params.provisioningAttempts;
  if (limit > 0 && next.failures >= limit) {
    return { action: "stop", status: "gave-up", failure: explainGiveUp(next, ending.failure, now), state: next };
  }
  // The spacing counts from the end of the attempt, which is after its CONNECT went out: two
  // CONNECTs are then never closer than the spacing, however long each TLS handshake took.
  let delayMs = nextAttemptDelay(stable ? 0 : next.failures - 1, random, now, now, params);
  const takeoverDetected = !next.takeoverSuspected && next.provisioned && next.shortSessions >= params.takeoverThreshold;
  if (takeoverDetected) next.takeoverSuspected = true;
  if (stable) next.takeoverSuspected = false;
  // Once another connection keeps taking this client id over, every retry would kick it off in
  // turn: wait the full cap (the other side's own backoff then gets a chance to settle).
  if (next.takeoverSuspected) delayMs = Math.max(delayMs, params.backoffCapMs);
  return { action: "retry", why: next.takeoverSuspected ? "takeover" : why, delayMs, state: next, takeoverDetected };
}

/** Records the start of an attempt at `now`. */
export function attemptStarted(state: LoopState, now: number): LoopState {
  return { ...state, firstAttemptAt: state.firstAttemptAt ?? now };
}

function explainPermanent(failure: Failure, provisioned: boolean): Failure {
  const { code } = failure;
  const advice = /^tls-(untrusted-server|hostname-mismatch)$/.test(code) ? "check the endpoint, serverName and root CA"
    : certificateAlertAdvice?.(code, provisioned)
      ?? (/^connack-(not-authorized|bad-credentials)$/.test(code) ? "check its policy allows iot:Connect for this client id" : "retrying cannot fix this");
  return { code: "connect-refused", message: `Refused for good (${code}: ${failure.message}); ${advice}.`, retryable: false };
}

function explainGiveUp(state: LoopState, failure: Failure | undefined, now: number): Failure {
  const { provisioned } = state;
  const facts = `${state.failures} attempts over ${Math.round((now - (state.firstAttemptAt ?? now)) / 1000)} s (last: ${failure ? failure.code : CLOSED})`;
  return {
    code: provisioned ? "reconnect-limit" : "provisioning-timeout",
    message: provisioned
      ? `No reconnect after ${facts}: check the network and endpoint, then restart.`
      : `Not provisioned after ${facts}: ${NOT_PROVISIONED_ADVICE}.`,
    retryable: false,
  };
}
