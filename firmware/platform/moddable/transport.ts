// The seam's OpenTransport on Moddable's SecureSocket (its own TLS 1.2 stack).
//
// What SecureSocket does not give directly, and how this binding gets it:
// - Why a connection ended: SecureSocket reports only -1/-2. The server's alert is still on the
//   session (`ssl.alert`) when the callback runs; the inner TCP socket's callback tells whether
//   TCP connected; a wrapper around the session's certificate check records a refused server
//   certificate and re-runs the check against a name from the certificate to tell "untrusted"
//   from "hostname mismatch". tls-failures.ts turns these facts into a Failure.
// - Writes: Moddable sockets throw when asked to write more than their buffer holds (1 KB in the
//   desktop simulator), and the TLS stack writes whole records, e.g. a Certificate message
//   with the device certificate and its CA (about 2 KB). So SecureSocket runs over a
//   BufferedSocket that queues what does not fit and writes it as room frees up, and the
//   plaintext we hand to SecureSocket is queued the same way.
// - The ALPN protocol the server chose: Moddable's handshake does not parse it, so `onOpen`
//   reports `alpn: undefined`; a server that accepts none of ours ends the handshake with the
//   "no-application-protocol" alert instead.

import SecureSocket from "securesocket";
import { Socket } from "socket";
import Timer from "timer";
import X509 from "x509";
import type { Failure } from "../failure.js";
import type { OpenTransport, TlsOptions, Transport, TransportEvents } from "../seam.js";
import { endingFailure, type CertificateRejection } from "./tls-failures.js";

// TLS on a microcontroller takes seconds; a handshake that has not finished by then never will.
const HANDSHAKE_DEADLINE_MS = 30_000;
// Largest plaintext piece handed to SecureSocket at once: bounds the transient record buffer.
const WRITE_CHUNK = 2048;
const TLS_1_2 = 0x303;

type SocketCallback = (message: number, value?: number) => void;

/** The Moddable TCP Socket calls this binding makes (its typings model the overloads loosely). */
interface TcpSocket {
  callback: SocketCallback;
  read(...args: unknown[]): unknown;
  write(): number;
  write(data: Uint8Array): void;
  close(): void;
}

interface CertificateManager {
  verify(certs: Uint8Array[], options: { tls_server_name?: string }): boolean;
  register(cert: ArrayBuffer): void;
}

/** The parts of a SecureSocket instance this binding uses beyond Moddable's typings. */
interface SecureSocketInstance {
  callback: SocketCallback;
  ssl?: { alert?: { level: number; description: number }; certificateManager?: CertificateManager };
  read(type: typeof ArrayBuffer): ArrayBuffer;
  /** Without arguments: the bytes that can be written now. With several: one TLS record. */
  write(): number;
  write(data: Uint8Array, more?: Uint8Array): void;
  close(): void;
}

/** An exact-length ArrayBuffer with the bytes of `view` (Moddable's TLS wants ArrayBuffers). */
function exactBuffer(view: Uint8Array): ArrayBuffer {
  const buffer = view.buffer as ArrayBuffer;
  if (view.byteOffset === 0 && view.byteLength === buffer.byteLength) return buffer;
  return view.slice().buffer as ArrayBuffer;
}

function secureOptions(options: TlsOptions): Record<string, unknown> {
  const secure: Record<string, unknown> = {
    protocolVersion: TLS_1_2,
    serverName: options.serverName ?? options.host,
  };
  if (options.trustedCa.length > 0) secure.certificate = exactBuffer(options.trustedCa[0]!);
  if (options.clientCertificates?.length) secure.clientCertificates = options.clientCertificates.map(exactBuffer);
  if (options.clientKey) secure.clientKey = exactBuffer(options.clientKey);
  if (options.alpn?.length) secure.applicationLayerProtocolNegotiation = options.alpn.slice();
  return secure;
}

/** A name the server certificate is valid for, to re-run the trust check without the name check. */
function nameInCertificate(leaf: Uint8Array): string | undefined {
  const names = X509.decodeSAN(leaf);
  for (const name of names ?? []) {
    if (name.tag !== 2 || typeof name.value !== "string") continue;
    return name.value.startsWith("*.") ? "x" + name.value.slice(1) : name.value;
  }
  return undefined;
}

/**
 * Records why the session refused the server certificate. Uses defineProperty: the manager's
 * class is frozen in the preloaded TLS modules, so a plain assignment would throw.
 */
function watchCertificateCheck(manager: CertificateManager, report: (why: CertificateRejection) => void): void {
  const verify = manager.verify;
  Object.defineProperty(manager, "verify", {
    value(certs: Uint8Array[], verifyOptions: { tls_server_name?: string }): boolean {
      if (verify.call(manager, certs, verifyOptions)) return true;
      const other = certs[0] ? nameInCertificate(certs[0]) : undefined;
      const trusted = other !== undefined && verify.call(manager, certs, { ...verifyOptions, tls_server_name: other });
      report(trusted ? "hostname" : "untrusted");
      return false;
    },
  });
}

/** A byte slice still to be written. */
interface Pending {
  bytes: Uint8Array;
  offset: number;
}

/** Writes queued bytes while `room()` allows; returns when the queue is empty or the room is gone. */
function drain(queue: Pending[], room: () => number, write: (bytes: Uint8Array) => void, chunk: number): void {
  while (queue.length > 0) {
    const free = room();
    if (free <= 0) return;
    const head = queue[0]!;
    const end = Math.min(head.bytes.length, head.offset + Math.min(free, chunk));
    write(head.bytes.subarray(head.offset, end));
    head.offset = end;
    if (end === head.bytes.length) queue.shift();
  }
}

function asBytes(data: ArrayBuffer | Uint8Array): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/**
 * The socket SecureSocket runs over: a Moddable TCP Socket whose writes never throw for lack
 * of room. Presents the Socket interface SecureSocket uses (callback, read, write, close).
 */
class BufferedSocket {
  callback: SocketCallback = () => {};
  connected = false;
  #tcp: TcpSocket;
  #queue: Pending[] = [];

  constructor(host: string, port: number) {
    this.#tcp = new Socket({ host, port }) as unknown as TcpSocket;
    this.#tcp.callback = (message, value) => {
      if (message === 1) this.connected = true;
      if (message === 3) {
        this.#flush();
        if (this.#queue.length > 0) return;
        value = this.#tcp.write();
      }
      this.callback(message, value);
    };
  }

  read(...args: unknown[]): unknown {
    return (this.#tcp.read as (...a: unknown[]) => unknown)(...args);
  }

  /** Without arguments: the room left. With data: queues it all and writes what fits now. */
  write(...data: (ArrayBuffer | Uint8Array)[]): number | undefined {
    if (data.length === 0) return this.#queue.length > 0 ? 0 : this.#tcp.write();
    for (const piece of data) this.#queue.push({ bytes: asBytes(piece), offset: 0 });
    this.#flush();
    return undefined;
  }

  #flush(): void {
    drain(this.#queue, () => this.#tcp.write(), (bytes) => this.#tcp.write(bytes), 0x7fffffff);
  }

  close(): void {
    this.#queue.length = 0;
    this.#tcp.close();
  }
}

class SecureTransport implements Transport {
  #events: TransportEvents;
  #where: string;
  #serverName: string;
  #socket: SecureSocketInstance | undefined;
  #tcp: BufferedSocket | undefined;
  #queue: Pending[] = [];
  #handshakeDone = false;
  #rejection: CertificateRejection | undefined;
  #deadline: Timer | undefined;
  #ended = false;
  #closed = false;

  constructor(options: TlsOptions, events: TransportEvents) {
    this.#events = events;
    this.#where = `${options.host}:${options.port}`;
    this.#serverName = options.serverName ?? options.host;
    try {
      this.#socket = this.#open(options);
    } catch (e) {
      // Bad options or a trusted CA outside its validity period: report after returning.
      const reason = e instanceof Error ? e.message : String(e);
      const setup: Failure = {
        code: "tls-setup-failed",
        message: `could not start TLS to ${this.#where} (${reason}); check the trusted CA and client certificate in the credentials`,
        retryable: false,
      };
      Timer.set(() => this.#end(setup));
      return;
    }
    this.#deadline = Timer.set(() => this.#timeout(), HANDSHAKE_DEADLINE_MS);
  }

  #open(options: TlsOptions): SecureSocketInstance {
    this.#tcp = new BufferedSocket(options.host, options.port);
    const socket = new SecureSocket({ sock: this.#tcp, host: options.host, port: options.port, secure: secureOptions(options) }) as unknown as SecureSocketInstance;
    const manager = socket.ssl?.certificateManager;
    if (manager) {
      for (const ca of options.trustedCa.slice(1)) manager.register(exactBuffer(ca));
      watchCertificateCheck(manager, (why) => { this.#rejection = why; });
    }
    socket.callback = (message, value) => this.#onSocket(message, value ?? 0);
    return socket;
  }

  #onSocket(message: number, value: number): void {
    const socket = this.#socket;
    if (!socket || this.#ended) return;
    if (message === 1) {
      this.#handshakeDone = true;
      Timer.clear(this.#deadline);
      this.#deadline = undefined;
      this.#flush();
      this.#events.onOpen({ alpn: undefined });
    } else if (message === 2) {
      if (value > 0) this.#events.onData(new Uint8Array(socket.read(ArrayBuffer)));
    } else if (message === 3) {
      this.#flush();
    } else if (message < 0) {
      const alert = socket.ssl?.alert?.description;
      this.#end(endingFailure({
        where: this.#where,
        serverName: this.#serverName,
        tcpConnected: this.#tcp?.connected ?? false,
        handshakeDone: this.#handshakeDone,
        message,
        alert,
        rejection: this.#rejection,
      }));
    }
  }

  write(bytes: Uint8Array, more?: Uint8Array): void {
    const socket = this.#socket;
    const size = bytes.length + (more ? more.length : 0);
    if (this.#ended || size === 0) return;
    // Nothing waiting and room for all of it: one TLS record straight from the caller's buffers
    // (SecureSocket copies its arguments into the record; it throws rather than write part).
    if (socket && this.#handshakeDone && this.#queue.length === 0 && size <= WRITE_CHUNK && socket.write() >= size) {
      if (more) socket.write(bytes, more);
      else socket.write(bytes);
      return;
    }
    // Otherwise copies wait in the queue: the caller may reuse its buffers once write returns.
    if (bytes.length > 0) this.#queue.push({ bytes: bytes.slice(), offset: 0 });
    if (more && more.length > 0) this.#queue.push({ bytes: more.slice(), offset: 0 });
    if (this.#handshakeDone) this.#flush();
  }

  #flush(): void {
    const socket = this.#socket;
    if (!socket || !this.#handshakeDone) return;
    drain(this.#queue, () => socket.write(), (bytes) => socket.write(bytes), WRITE_CHUNK);
  }

  close(): void {
    if (this.#ended) return;
    try {
      this.#flush(); // an MQTT DISCONNECT queued just before close() still goes out
    } catch {
      // the socket is going away anyway
    }
    this.#ended = true;
    this.#release();
    // onClose follows asynchronously, as with node:tls, so callers never re-enter themselves.
    Timer.set(() => this.#fireClose(undefined));
  }

  #timeout(): void {
    this.#deadline = undefined;
    this.#end(endingFailure({
      where: this.#where, serverName: this.#serverName, tcpConnected: this.#tcp?.connected ?? false,
      handshakeDone: false, message: -2, timedOut: true,
    }));
  }

  #end(failure: Failure | undefined): void {
    this.#ended = true;
    this.#release();
    this.#fireClose(failure);
  }

  /** Calls onClose once; `failure` undefined for an orderly close. */
  #fireClose(failure: Failure | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.onClose(failure);
  }

  #release(): void {
    Timer.clear(this.#deadline);
    this.#deadline = undefined;
    this.#queue.length = 0;
    const socket = this.#socket;
    this.#socket = undefined;
    // Inside SecureSocket's callback it closes the socket itself right after; closing here
    // too is harmless (close() tolerates a second call).
    socket?.close();
  }
}

/** Opens a TLS connection; never throws: every failure arrives through `events.onClose`. */
export const openTransport: OpenTransport = (options, events) => new SecureTransport(options, events);
