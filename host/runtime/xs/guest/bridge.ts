// The platform seam inside XS, bound to the host. This file runs inside xsnap only: every seam
// call becomes a synchronous `issueCommand` to the host (clock, timers, storage, crypto,
// sockets), and host events (a timer fired, bytes arrived, a call into the guest) arrive
// through `globalThis.handleCommand`. Exceptions are not caught here on purpose: one that
// escapes reaches xsnap as an uncaught exception, and the host fails the run.

import "./builtins.js";
import type { Failure } from "../../../../firmware/platform/failure.js";
import type { Platform, TlsOptions, Transport, TransportEvents, TransportFailure, UpdateSlot } from "../../../../firmware/platform/seam.js";
import { decodeWire, encodeWire, type WireHeader, type WireMessage } from "../wire.js";

interface XsGlobals {
  issueCommand(request: ArrayBuffer): ArrayBuffer;
  print(...text: unknown[]): void;
  gc(): void;
  resetMeter(limit: number, index: number): number;
  currentMeterLimit(): number;
  handleCommand?: (request: ArrayBuffer) => ArrayBuffer | undefined;
}

export const xs = globalThis as unknown as XsGlobals;

/** What a guest call returns to the host: a JSON-able result and binary parts. */
export interface GuestCallResult {
  result?: unknown;
  parts?: Uint8Array[];
}

export type GuestCall = (args: WireHeader, parts: Uint8Array[]) => GuestCallResult | void;

/** Sends a command to the host and returns its answer; throws when the host refused it. */
export function askHost(header: WireHeader, parts?: readonly Uint8Array[]): WireMessage {
  const request = encodeWire(header, parts);
  const reply = decodeWire(new Uint8Array(xs.issueCommand(request.buffer as ArrayBuffer)));
  if (typeof reply.header.error === "string") throw new Error(`host: ${reply.header.error}`);
  return reply;
}

/** Tells the host something (a test observation, a status); returns the host's answer. */
export function report(name: string, data: WireHeader = {}, parts?: readonly Uint8Array[]): WireMessage {
  return askHost({ op: "report", name, data }, parts);
}

/** xsnap's computron counter, read without disturbing it (for benchmarks). */
export function readMeter(): number {
  const limit = xs.currentMeterLimit();
  const index = xs.resetMeter(limit, 0);
  xs.resetMeter(limit, index);
  return index;
}

// Uint8Array.fromBase64 (ES2026), which the device's XS (Moddable SDK 8.2) has and xsnap's
// lacks: decoded by the host, throwing a SyntaxError for text that is not base64 as XS does.
if (!("fromBase64" in Uint8Array)) {
  Object.defineProperty(Uint8Array, "fromBase64", {
    value: (text: string) => {
      const reply = askHost({ op: "base64", text: String(text) });
      if (reply.header.invalid) throw new SyntaxError("invalid base64");
      return reply.parts[0].slice();
    },
    writable: true, configurable: true,
  });
}

const timers = new Map<number, () => void>();
const transports = new Map<number, TransportEvents<TransportFailure>>();
const calls = new Map<string, GuestCall>();
let lastId = 0;

/** Makes functions callable by the host (`XsRuntime.call(name, args, parts)`). */
export function exposeCalls(entries: Record<string, GuestCall>): void {
  for (const name of Object.keys(entries)) calls.set(name, entries[name]);
}

function handleCommand(request: ArrayBuffer): ArrayBuffer | undefined {
  const { header, parts } = decodeWire(new Uint8Array(request));
  const id = header.id as number;
  switch (header.ev) {
    case "timer": {
      const callback = timers.get(id);
      timers.delete(id);
      callback?.();
      return undefined;
    }
    case "open":
      transports.get(id)?.onOpen({ alpn: header.alpn as string | undefined });
      return undefined;
    case "data":
      transports.get(id)?.onData(parts[0]);
      return undefined;
    case "close": {
      const events = transports.get(id);
      transports.delete(id);
      // The host's Node binding made it (host/runtime/node/tls-transport.ts): a TransportFailure.
      events?.onClose(header.failure as TransportFailure | undefined);
      return undefined;
    }
    case "call": {
      const call = calls.get(header.fn as string);
      if (!call) throw new Error(`no guest call named "${String(header.fn)}"`);
      const out = call((header.args ?? {}) as WireHeader, parts) ?? {};
      return encodeWire({ result: out.result }, out.parts).buffer as ArrayBuffer;
    }
    default:
      throw new Error(`unknown host event "${String(header.ev)}"`);
  }
}

xs.handleCommand = handleCommand;

function openTransport(options: TlsOptions, events: TransportEvents<TransportFailure>): Transport {
  const id = ++lastId;
  transports.set(id, events);
  const { host, port, serverName, alpn, trustedCa, clientCertificates = [], clientKey } = options;
  const parts = [...trustedCa, ...clientCertificates, ...(clientKey ? [clientKey] : [])];
  askHost({ op: "open", id, host, port, serverName, alpn, trusted: trustedCa.length, chain: clientCertificates.length, key: !!clientKey }, parts);
  return {
    write(bytes: Uint8Array, more?: Uint8Array): void {
      askHost({ op: "write", id }, more ? [bytes, more] : [bytes]);
    },
    close(): void {
      askHost({ op: "close", id });
    },
  };
}

/** The seam bound to the host; one per XS machine. */
export function createXsPlatform(): Platform {
  return {
    clock: {
      now: () => askHost({ op: "now" }).header.now as number,
      isSet: () => askHost({ op: "clock-set" }).header.set as boolean,
    },
    timers: {
      setTimeout(callback: () => void, ms: number): number {
        const id = ++lastId;
        timers.set(id, callback);
        askHost({ op: "timer", id, ms });
        return id;
      },
      clearTimeout(handle: unknown): void {
        if (timers.delete(handle as number)) askHost({ op: "clear", id: handle as number });
      },
    },
    random: () => askHost({ op: "random" }).header.value as number,
    storage: {
      get(key: string): string | Uint8Array | undefined {
        const { header, parts } = askHost({ op: "get", key });
        return header.kind === "bytes" ? parts[0].slice() : (header.value as string | undefined);
      },
      set(key: string, value: string | Uint8Array): void {
        if (typeof value === "string") askHost({ op: "set", key, value });
        else askHost({ op: "set", key }, [value]);
      },
      remove(key: string): void {
        askHost({ op: "remove", key });
      },
    },
    crypto: {
      sha256: (data: Uint8Array) => askHost({ op: "sha256" }, [data]).parts[0].slice(),
      sha1: (data: Uint8Array) => askHost({ op: "sha1" }, [data]).parts[0].slice(),
      hmacSha256: (key: Uint8Array, data: Uint8Array) => askHost({ op: "hmac" }, [key, data]).parts[0].slice(),
    },
    log: (line: string) => xs.print(line),
    openTransport,
    restart: () => void askHost({ op: "restart" }),
    update: updateSlot(),
  };
}

/** The host's update slot: each call one command (a block's bytes go as a part). */
function updateSlot(): UpdateSlot {
  const slot = (fn: string, args: WireHeader = {}, parts?: Uint8Array[]) => askHost({ op: "slot", fn, ...args }, parts);
  const failed = (reply: WireMessage) => reply.header.failure as Failure | undefined;
  return {
    open: (size) => failed(slot("open", { size })),
    write: (bytes) => failed(slot("write", {}, [bytes])),
    abort: () => void slot("abort"),
    digest: () => slot("digest").parts[0].slice(),
    verify: (certificate, digest, signature) => slot("verify", {}, [certificate, digest, signature]).header.ok === true,
    activate: () => failed(slot("activate")),
    confirm: () => void slot("confirm"),
    rollback: () => slot("rollback").header.ok === true,
    version: () => slot("version").header.version as string | undefined,
  };
}
