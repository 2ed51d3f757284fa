// The seam's OpenTransport on Moddable's SecureSocket (its own TLS 1.2 stack).
//
// What SecureSocket does not give directly, and how this binding gets it:
// - Why a connection ended: SecureSocket reports only -1/-2. The server's alert is still on the
//   session (`ssl.alert`) when the callback runs; the inner TCP socket's callback tells whether
//   TCP connected; a wrapper around the session's certificate check records a refused server
//   certificate and re-runs the check against a name from the certificate to tell "untrusted"
//   from "hostname mismatch". tls-failures.ts turns these facts into a Failure.
// - Writes: Moddable sockets throw when asked to write more than they have room for, and the
//   TLS stack writes whole records. So SecureSocket runs over a BufferedSocket whose writes
//   wait in a WriteQueue (write-queue.ts, pure and tested on the host) until room frees up, and
//   the plaintext we hand to SecureSocket is queued the same way.
// - The ALPN protocol the server chose: Moddable's handshake does not parse it, so `onOpen`
//   reports `alpn: undefined`; a server that accepts none of ours ends the handshake with the
//   "no-application-protocol" alert instead.

import SecureSocket from "securesocket";
import { Socket } from "socket";
import Timer from "timer";
import X509 from "x509";
import type { OpenTransport, TlsOptions, Transport, TransportEvents, TransportFailure } from "../seam.js";
import { endingFailure, setupFailure, type CertificateRejection } from "./tls-failures.js";
import { WriteQueue } from "./write-queue.js";

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

/**
 * The socket SecureSocket runs over: a Moddable TCP Socket whose writes never throw for lack
 * of room. Presents the Socket interface SecureSocket uses (callback, read, write, close).
 */
class BufferedSocket {
  callback: SocketCallback = () => {};
  connected = false;
  #tcp: TcpSocket;
  #queue: WriteQueue;

  constructor(host: string, port: number) {
    const tcp = this.#tcp = new Socket({ host, port }) as unknown as TcpSocket;
    // The TLS stack hands over fresh record buffers it does not reuse: no copies needed.
    this.#queue = new WriteQueue({ room: () => tcp.write(), write: (bytes) => tcp.write(bytes) });
    tcp.callback = (message, value) => {
      if (message === 1) this.connected = true;
      if (message === 3) {
        if (!this.#queue.flush()) return;
        value = tcp.write();
      }
      this.callback(message, value);
    };
  }

  read(...args: unknown[]): unknown {
    return (this.#tcp.read as (...a: unknown[]) => unknown)(...args);
  }

  /** Without arguments: the room left. With data: queues it all and writes what fits now. */
  write(...data: (ArrayBuffer | Uint8Array)[]): number | undefined {
    if (data.length === 0) return this.#queue.room();
    for (const piece of data) this.#queue.send(piece instanceof Uint8Array ? piece : new Uint8Array(piece), undefined, { copy: false });
    return undefined;
  }

  close(): void {
    this.#queue.clear();
    this.#tcp.close();
  }
}

class SecureTransport implements Transport {
  #events: TransportEvents<TransportFailure>;
  #where: string;
  #serverName: string;
  #socket: SecureSocketInstance | undefined;
  #tcp: BufferedSocket | undefined;
  #queue: WriteQueue | undefined;
  #handshakeDone = false;
  #rejection: CertificateRejection | undefined;
  #deadline: Timer | undefined;
  #ended = false;
  #closed = false;

  constructor(options: TlsOptions, events: TransportEvents<TransportFailure>) {
    this.#events = events;
    this.#where = `${options.host}:${options.port}`;
    this.#serverName = options.serverName ?? options.host;
    try {
      this.#socket = this.#open(options);
    } catch (e) {
      // Bad options or a trusted CA outside its validity period: report after returning.
      const setup = setupFailure(this.#where, e instanceof Error ? e.message : String(e));
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
    this.#queue = new WriteQueue({
      room: () => socket.write(),
      write: (bytes, more) => (more ? socket.write(bytes, more) : socket.write(bytes)),
    }, WRITE_CHUNK);
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
    if (this.#ended) return;
    // Copies wait in the queue: the caller may reuse its buffers once write returns. Straight
    // through (one TLS record from the caller's buffers) when nothing waits and it fits.
    if (this.#handshakeDone) this.#queue?.send(bytes, more, { copy: true });
    else this.#queue?.hold(bytes, more, { copy: true });
  }

  #flush(): void {
    if (this.#socket && this.#handshakeDone) this.#queue?.flush();
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

  #end(failure: TransportFailure | undefined): void {
    this.#ended = true;
    this.#release();
    this.#fireClose(failure);
  }

  /** Calls onClose once; `failure` undefined for an orderly close. */
  #fireClose(failure: TransportFailure | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.onClose(failure);
  }

  #release(): void {
    Timer.clear(this.#deadline);
    this.#deadline = undefined;
    this.#queue?.clear();
    const socket = this.#socket;
    this.#socket = undefined;
    // Inside SecureSocket's callback it closes the socket itself right after; closing here
    // too is harmless (close() tolerates a second call).
    socket?.close();
  }
}

/** Opens a TLS connection; never throws: every failure arrives through `events.onClose`. */
export const openTransport: OpenTransport = (options, events) => new SecureTransport(options, events);
