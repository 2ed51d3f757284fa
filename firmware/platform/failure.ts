// Errors are values: a stable code for programs and a sentence for people that names the
// cause and the fix. Nothing in the firmware throws across the event loop.

export interface Failure {
  /** Stable, kebab-case, e.g. "tls-untrusted-server", "connack-not-authorized". */
  code: string;
  /** One sentence naming the cause and, where there is one, the fix. Never key material. */
  message: string;
  /** True when trying again later may succeed (network drop, provisioning in progress). */
  retryable: boolean;
}

export function failure<C extends string>(code: C, message: string, retryable = false): Failure & { code: C } {
  return { code, message, retryable };
}

/**
 * Failure "clock-unset" (retryable), one sentence wherever TLS or a certificate date meets an
 * unset clock; `after` says for how long it has been waited for, e.g. " after 30000 ms".
 */
export function clockUnset(after = ""): Failure {
  return failure("clock-unset", `The clock is still not set${after} (TLS needs it): check the network and SNTP server.`, true);
}

/** Result of an operation that can fail with a Failure instead of throwing. */
export type Result<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: string, message: string, retryable = false): Result<T> {
  return { ok: false, failure: failure(code, message, retryable) };
}
