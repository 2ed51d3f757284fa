// What to do after a connection attempt or a session ends: retry (and why, and when) or stop
// with a status a person can act on. Pure: time and randomness are passed in.
//
// A fresh JITP/JITR certificate is dropped on its first connect(s) while AWS provisions it: the
// TLS session is reset, or the MQTT connection is closed before or right after CONNACK. Those
// are "still provisioning" until the device has once been accepted (then it remembers that it
// is provisioned). Other failures will never heal by retrying: say so instead of looping.

import type { Failure } from "../platform/failure.js";
import { nextAttemptDelay, type BackoffParams } from "./backoff.js";

export type FailureClass = "provisioning" | "network" | "permanent";

export interface PolicyParams extends BackoffParams {
  provisioningAttempts: number;
  provisioningGraceMs: number;
  /** 0 = never give up once provisioned. */
  reconnectAttempts: number;
  stableSessionMs: number;
  takeoverThreshold: number;
}

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

const CERTIFICATE_ALERTS = new Set([
  "tls-alert-bad-certificate",
  "tls-alert-certificate-unknown",
  "tls-alert-certificate-revoked",
  "tls-alert-certificate-expired",
  "tls-alert-unknown-ca",
  "tls-alert-access-denied",
]);

const NETWORK = new Set([
  "connection-refused",
  "connection-timeout",
  "dns-failure",
  "connack-server-unavailable",
  "mqtt-keepalive-timeout",
]);

const DROPPED = new Set([
  "tls-handshake-reset",
  "mqtt-closed-before-connack",
  "mqtt-connack-timeout",
  "connection-reset",
  "connection-closed",
]);

/**
 * Sorts a failure into "provisioning" (a drop that JITP/JITR causes on a device not yet
 * provisioned), "network" (worth retrying) or "permanent". An undefined failure is an orderly
 * close by the server. Never fails.
 */
export function classify(failure: Failure | undefined, provisioned: boolean, withinGrace: boolean): FailureClass {
  const code = failure?.code ?? "connection-closed";
  if (DROPPED.has(code)) return provisioned ? "network" : "provisioning";
  if (NETWORK.has(code)) return "network";
  if (CERTIFICATE_ALERTS.has(code)) return !provisioned && withinGrace ? "provisioning" : "permanent";
  if (code.startsWith("tls-") || code.startsWith("connack-")) return "permanent";
  return failure?.retryable ? "network" : "permanent";
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
    return { action: "stop", status: "refused", failure: explainPermanent(ending.failure, next.provisioned), state: next };
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
  if (next.takeoverSuspected) delayMs = Math.max(delayMs, params.capMs);
  return { action: "retry", why: next.takeoverSuspected ? "takeover" : why, delayMs, state: next, takeoverDetected };
}

/** Records the start of an attempt at `now`. */
export function attemptStarted(state: LoopState, now: number): LoopState {
  return { ...state, firstAttemptAt: state.firstAttemptAt ?? now };
}

function explainPermanent(failure: Failure | undefined, provisioned: boolean): Failure {
  const cause = failure ? `${failure.code}: ${failure.message}` : "closed";
  const code = failure?.code ?? "connection-closed";
  let advice: string;
  if (code === "tls-untrusted-server" || code === "tls-hostname-mismatch") {
    advice = "the server is not the IoT endpoint this device trusts: check the endpoint, serverName and root CA";
  } else if (CERTIFICATE_ALERTS.has(code)) {
    advice = provisioned
      ? "the server rejects this device's certificate: it may have been deactivated or revoked"
      : "the server still rejects this device's certificate after the provisioning grace time: check that its CA is registered and ACTIVE with auto-registration";
  } else if (code === "connack-not-authorized" || code === "connack-bad-credentials") {
    advice = "the server refuses this device: check the certificate status and that its policy allows iot:Connect for this client id";
  } else {
    advice = "retrying cannot fix this";
  }
  return { code: "connect-refused", message: `Connection refused for good (${cause}); ${advice}.`, retryable: false };
}

function explainGiveUp(state: LoopState, failure: Failure | undefined, now: number): Failure {
  const seconds = state.firstAttemptAt === undefined ? 0 : Math.round((now - state.firstAttemptAt) / 1000);
  const last = failure ? failure.code : "connection-closed";
  if (!state.provisioned) {
    return {
      code: "provisioning-timeout",
      message: `Still not provisioned after ${state.failures} attempts over ${seconds} s (last: ${last}): check that the device CA is registered with auto-registration, that its provisioning template's parameters are all present in the certificate subject (a missing field leaves the certificate PENDING_ACTIVATION), or that the JITR function activates it.`,
      retryable: false,
    };
  }
  return {
    code: "reconnect-limit",
    message: `Could not reconnect after ${state.failures} attempts over ${seconds} s (last: ${last}): check the network and the endpoint, then restart the device.`,
    retryable: false,
  };
}
