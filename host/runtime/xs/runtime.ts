// The host side of the XS bridge: runs a guest bundle in an xsnap worker and serves the
// guest's seam calls from a host Platform (node:tls sockets, real or manual time, state-dir
// storage, node:crypto). Host events (timer fired, bytes arrived, socket closed) become cranks,
// delivered in order. Any uncaught exception inside XS fails the runtime: `close()` rejects.

import type { Failure } from "../../../firmware/platform/failure.js";
import type { Platform, TimerHandle, Transport } from "../../../firmware/platform/seam.js";
import { decodeWire, encodeWire, type WireHeader } from "./wire.js";
import { XsWorker, type XsMeter } from "./worker.js";

export interface XsRuntimeOptions {
  /** The guest bundle (see bundleForXs). */
  script: string;
  /** What the guest's seam is bound to. */
  platform: Platform;
  /** Observations the guest sends with `report(name, data, parts)`; the return value is its answer. */
  onReport?(name: string, data: WireHeader, parts: Uint8Array[]): WireHeader | void;
  /** Called once, with the first failure inside XS (uncaught exception, crash). */
  onFailure?(error: Error): void;
  /** Lines the guest prints; defaults to `platform.log`. */
  onPrint?(line: string): void;
  meteringLimit?: number;
}

export interface XsCallResult {
  result: unknown;
  parts: Uint8Array[];
  meter: XsMeter;
}

export class XsRuntime {
  #worker: XsWorker;
  #platform: Platform;
  #options: XsRuntimeOptions;
  #timers = new Map<number, TimerHandle>();
  #transports = new Map<number, Transport>();
  #failed = false;
  #closing = false;

  private constructor(options: XsRuntimeOptions) {
    this.#options = options;
    this.#platform = options.platform;
    this.#worker = new XsWorker({
      name: "firmware",
      meteringLimit: options.meteringLimit,
      onPrint: options.onPrint ?? ((line) => options.platform.log(line)),
      onCommand: (request) => this.#serve(request),
    });
  }

  /** Starts a worker and evaluates the bundle; rejects if the bundle throws. */
  static async start(options: XsRuntimeOptions): Promise<XsRuntime> {
    const runtime = new XsRuntime(options);
    try {
      await runtime.#worker.evaluate(options.script);
    } catch (error) {
      runtime.#worker.terminate();
      throw error;
    }
    return runtime;
  }

  /** Calls a function the guest exposed; rejects on an uncaught exception inside XS. */
  async call(fn: string, args: WireHeader = {}, parts: Uint8Array[] = []): Promise<XsCallResult> {
    const { reply, meter } = await this.#worker.issueCommand(encodeWire({ ev: "call", fn, args }, parts)).catch((error) => this.#fail(error));
    const message = decodeWire(reply);
    return { result: message.header.result, parts: message.parts, meter };
  }

  /** Evaluates a script in the guest's global scope. */
  async evaluate(source: string): Promise<XsMeter> {
    return (await this.#worker.evaluate(source).catch((error) => this.#fail(error))).meter;
  }

  /** Resolves when every event delivered so far has been handled by the guest. */
  idle(): Promise<void> {
    return this.#worker.idle();
  }

  get failure(): Error | undefined {
    return this.#worker.failure;
  }

  /** Stops timers and sockets, then the worker; rejects if XS failed at any time. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const handle of this.#timers.values()) this.#platform.timers.clearTimeout(handle);
    this.#timers.clear();
    const transports = [...this.#transports.values()];
    this.#transports.clear();
    for (const transport of transports) transport.close();
    await this.#worker.close();
  }

  /** Kills the worker at once, without waiting or reporting (cleanup after another failure). */
  terminate(): void {
    this.#closing = true;
    this.#worker.terminate();
  }

  #fail(error: Error): never {
    this.#reportFailure(error);
    throw error;
  }

  /** Tells onFailure about the first failure only. */
  #reportFailure(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#options.onFailure?.(error);
  }

  #deliver(header: WireHeader, parts?: Uint8Array[]): void {
    if (this.#worker.failure || this.#closing) return;
    this.#worker.issueCommand(encodeWire(header, parts)).catch((error: Error) => this.#reportFailure(error));
  }

  /** Answers one guest command; a throw fails the run (the guest asked for something impossible). */
  #serve(request: Uint8Array): Uint8Array {
    const { header, parts } = decodeWire(request);
    try {
      return encodeWire(...this.#answer(header, parts));
    } catch (error) {
      return encodeWire({ error: error instanceof Error ? error.message : String(error) });
    }
  }

  #answer(header: WireHeader, parts: Uint8Array[]): [WireHeader, Uint8Array[]?] {
    const platform = this.#platform;
    const id = header.id as number;
    switch (header.op) {
      case "now":
        return [{ now: platform.clock.now() }];
      case "clock-set":
        return [{ set: platform.clock.isSet() }];
      case "random":
        return [{ value: platform.random() }];
      case "timer":
        this.#timers.set(id, platform.timers.setTimeout(() => {
          this.#timers.delete(id);
          this.#deliver({ ev: "timer", id });
        }, header.ms as number));
        return [{}];
      case "clear":
        if (this.#timers.has(id)) platform.timers.clearTimeout(this.#timers.get(id));
        this.#timers.delete(id);
        return [{}];
      case "get": {
        const value = platform.storage.get(header.key as string);
        return value instanceof Uint8Array ? [{ kind: "bytes" }, [value]] : [{ value }];
      }
      case "set":
        platform.storage.set(header.key as string, (header.value as string | undefined) ?? parts[0].slice());
        return [{}];
      case "remove":
        platform.storage.remove(header.key as string);
        return [{}];
      case "sha256":
        return [{}, [platform.crypto.sha256(parts[0])]];
      case "sha1":
        return [{}, [platform.crypto.sha1(parts[0])]];
      case "hmac":
        return [{}, [platform.crypto.hmacSha256(parts[0], parts[1])]];
      case "open":
        this.#open(header, parts);
        return [{}];
      case "write":
        this.#transports.get(id)?.write(parts[0].slice(), parts[1]?.slice());
        return [{}];
      case "close":
        this.#transports.get(id)?.close();
        return [{}];
      case "report":
        return [this.#options.onReport?.(header.name as string, header.data as WireHeader, parts) ?? {}];
      case "base64": {
        const text = (header.text as string).replace(/[\t\n\f\r ]/g, "");
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return [{ invalid: true }];
        return [{}, [new Uint8Array(Buffer.from(text, "base64"))]];
      }
      case "restart":
        if (!platform.restart) throw new Error("this runtime cannot restart the device");
        platform.restart();
        return [{}];
      case "slot":
        return this.#slot(header, parts);
      default:
        throw new Error(`unknown guest command "${String(header.op)}"`);
    }
  }

  /** The update slot's calls (guest/bridge.ts `updateSlot`). */
  #slot(header: WireHeader, parts: Uint8Array[]): [WireHeader, Uint8Array[]?] {
    const slot = this.#platform.update;
    if (!slot) throw new Error("this runtime has no update slot");
    switch (header.fn) {
      case "open": return [{ failure: slot.open(header.size as number) }];
      case "write": return [{ failure: slot.write(parts[0]) }];
      case "abort": return [{}, void slot.abort()];
      case "digest": return [{}, [slot.digest()]];
      case "verify": return [{ ok: slot.verify(parts[0], parts[1], parts[2]) }];
      case "activate": return [{ failure: slot.activate() }];
      case "confirm": return [{}, void slot.confirm()];
      case "rollback": return [{ ok: slot.rollback() }];
      case "version": return [{ version: slot.version() }];
      default: throw new Error(`unknown update slot call "${String(header.fn)}"`);
    }
  }

  #open(header: WireHeader, parts: Uint8Array[]): void {
    const id = header.id as number;
    const trusted = header.trusted as number;
    const chain = header.chain as number;
    const options = {
      host: header.host as string,
      port: header.port as number,
      serverName: header.serverName as string | undefined,
      alpn: header.alpn as string[] | undefined,
      trustedCa: parts.slice(0, trusted).map((part) => part.slice()),
      clientCertificates: chain ? parts.slice(trusted, trusted + chain).map((part) => part.slice()) : undefined,
      clientKey: header.key ? parts[trusted + chain].slice() : undefined,
    };
    let closed = false;
    const transport = this.#platform.openTransport(options, {
      onOpen: (info) => this.#deliver({ ev: "open", id, alpn: info.alpn }),
      onData: (bytes) => this.#deliver({ ev: "data", id }, [bytes]),
      onClose: (failure?: Failure) => {
        if (closed) return;
        closed = true;
        this.#transports.delete(id);
        this.#deliver({ ev: "close", id, failure });
      },
    });
    if (!closed) this.#transports.set(id, transport);
  }
}
