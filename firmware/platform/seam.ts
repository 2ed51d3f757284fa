// The platform seam: everything the firmware needs from the world it runs in.
//
// The firmware core (mqtt, websocket, credentials, provisioning, telemetry...) imports only
// these types; it never reads a clock, starts a timer, draws a random number or touches a
// socket on its own. Bindings implement the seam: `firmware/platform/moddable/` on the device
// and in the desktop simulator, `host/runtime/` under Node and inside xsnap.

import type { Failure } from "./failure.js";

/** Milliseconds since the Unix epoch, and whether that number can be trusted. */
export interface Clock {
  now(): number;
  /** False until SNTP (or the host) has set the time: TLS must not be tried before. */
  isSet(): boolean;
}

export type TimerHandle = unknown;

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Small key/value store that survives a reboot (ESP32 NVS through Preference). */
export interface Storage {
  /** Returns undefined when the key is absent. */
  get(key: string): string | Uint8Array | undefined;
  set(key: string, value: string | Uint8Array): void;
  remove(key: string): void;
}

export interface Crypto {
  sha256(data: Uint8Array): Uint8Array;
  /** Only for the WebSocket handshake's Sec-WebSocket-Accept check (RFC 6455 4.2.2); no security role. */
  sha1(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
}

/**
 * One line per step or decision; never called with key material. `level`: 0 debug (chatter per
 * message), 1 info (the default: steps and decisions), 2 warn (a failure, refusal or stop). Boot
 * drops the lines below the config's `logLevel` before they reach the platform.
 */
export type Log = (line: string, level?: 0 | 1 | 2) => void;

/** How to reach a server over TLS. There is deliberately no way to skip verification. */
export interface TlsOptions {
  host: string;
  port: number;
  /** SNI and the name checked against the server certificate; defaults to `host`. */
  serverName?: string;
  /** Trusted root CA certificates, DER. The server chain must lead to one of them. */
  trustedCa: Uint8Array[];
  /** Client certificate chain, DER, leaf first (device certificate, then its CA). */
  clientCertificates?: Uint8Array[];
  /** Client private key, PKCS#8 DER (RSA on Moddable). */
  clientKey?: Uint8Array;
  /** ALPN protocol names to offer, in order. */
  alpn?: string[];
}

/** TLS alert descriptions (RFC 5246 section 7.2, RFC 7301, RFC 8446 section 6), kebab-case. */
export type TlsAlertName =
  | "close-notify" | "unexpected-message" | "bad-record-mac" | "decryption-failed" | "record-overflow"
  | "decompression-failure" | "handshake-failure" | "no-certificate" | "bad-certificate"
  | "unsupported-certificate" | "certificate-revoked" | "certificate-expired" | "certificate-unknown"
  | "illegal-parameter" | "unknown-ca" | "access-denied" | "decode-error" | "decrypt-error"
  | "export-restriction" | "protocol-version" | "insufficient-security" | "internal-error"
  | "inappropriate-fallback" | "user-canceled" | "no-renegotiation" | "missing-extension"
  | "unsupported-extension" | "unrecognized-name" | "bad-certificate-status-response"
  | "unknown-psk-identity" | "certificate-required" | "no-application-protocol";

/**
 * The failure codes a transport reports through `onClose`: every binding (Moddable, Node, XS
 * through the Node one) emits only these, so that the provisioning loop can tell "dropped
 * while provisioning" from "will never work" (firmware/provisioning/policy.ts decides per code):
 * - "tls-untrusted-server": the server chain does not lead to a trusted CA
 * - "tls-hostname-mismatch": the server certificate does not name `serverName`
 * - "tls-alert-<name>": the server sent a fatal TLS alert (e.g. "tls-alert-bad-certificate",
 *   "tls-alert-unknown-ca", "tls-alert-no-application-protocol"); "tls-alert-unknown" for a
 *   description outside the RFCs
 * - "tls-alpn-refused": none of the offered ALPN protocols was selected
 * - "tls-handshake-reset": the connection was reset or closed before the handshake finished
 * - "tls-setup-failed": the TLS stack would not start with these options (a trusted CA,
 *   certificate or key it cannot use); not retryable
 * - "connection-refused" (no TCP connection: refused or unreachable), "connection-timeout",
 *   "dns-failure"
 * - "connection-reset": reset after the handshake (retryable)
 * - "connection-closed": the peer closed an open connection (retryable)
 */
export type TransportFailureCode =
  | "tls-untrusted-server" | "tls-hostname-mismatch" | `tls-alert-${TlsAlertName}` | "tls-alert-unknown"
  | "tls-alpn-refused" | "tls-handshake-reset" | "tls-setup-failed"
  | "connection-refused" | "connection-timeout" | "dns-failure" | "connection-reset" | "connection-closed";

/** A Failure whose code is one of the transport failure codes. */
export interface TransportFailure extends Failure {
  code: TransportFailureCode;
}

/** A stream's events; a TLS transport closes with a TransportFailure, a stream built on one (WebSocket, credentials fetched first) with any Failure. */
export interface TransportEvents<F extends Failure = Failure> {
  /** The TLS handshake finished; `alpn` is the protocol the server selected, if any. */
  onOpen(info: { alpn?: string }): void;
  onData(bytes: Uint8Array): void;
  /** Called once. `failure` is undefined for an orderly close by either side. (A property, so that its parameter type is checked strictly.) */
  onClose: (failure?: F) => void;
}

/** A bidirectional byte stream: a TLS socket, or a WebSocket carried over one. */
export interface Transport {
  /**
   * Sends `bytes`, then `more` when given, as one piece of the stream (one TLS record where the
   * stack allows), so a header and a payload go out without being joined first. Both buffers
   * may be changed by the caller once `write` returns: a transport copies what it must keep.
   */
  write(bytes: Uint8Array, more?: Uint8Array): void;
  /** Closes the stream; `onClose` follows. Calling it twice is harmless. */
  close(): void;
}

/** Opens TLS; the binding reports how it ended with a TransportFailure only. */
export type OpenTransport = (options: TlsOptions, events: TransportEvents<TransportFailure>) => Transport;

/**
 * The firmware update slot (ESP32: the OTA app partition that is not running) and what checks
 * an image before it boots. An image is written in order from its first byte, never held whole;
 * the slot hashes it as it goes. Failures: "ota-slot" (no update partition, an image larger than
 * it, a write refused), "ota-invalid-image" (the platform will not boot it).
 */
export interface UpdateSlot {
  /** Starts a new image of `size` bytes, dropping anything written before. */
  open(size: number): Failure | undefined;
  /** Appends the image's next bytes. */
  write(bytes: Uint8Array): Failure | undefined;
  /** Drops a partly written image; the running image stays the one that boots. */
  abort(): void;
  /** SHA-256 of the bytes written since `open`. */
  digest(): Uint8Array;
  /**
   * True when `signature` (DER ECDSA, P-256) signs `digest` with the public key of `certificate`
   * (DER X.509); false as well for a certificate the platform cannot read.
   */
  verify(certificate: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean;
  /** Completes the image and makes it the one the next start boots. */
  activate(): Failure | undefined;
  /** The running image is good: the platform will not go back to the previous one. */
  confirm(): void;
  /** Makes the previous image the one the next start boots; false when the platform cannot. */
  rollback(): boolean;
  /** The running image's version when the platform tells it apart from the firmware's own (host runtimes). */
  version(): string | undefined;
}

export interface Platform {
  clock: Clock;
  timers: Timers;
  /** Uniform in [0, 1). Passed in so tests can pin it. */
  random(): number;
  storage: Storage;
  crypto: Crypto;
  log: Log;
  openTransport: OpenTransport;
  /** Restarts the device, Preference kept (the board resets; host runtimes boot the firmware again). Absent where it cannot. */
  restart?(): void;
  /** The firmware update slot; absent where the platform has none (no OTA). */
  update?: UpdateSlot;
}
