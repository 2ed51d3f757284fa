// A plain-TCP Transport for testing the WebSocket framing against a peer on loopback.
import net from "node:net";
import { failure } from "../../firmware/platform/failure.js";
import type { Transport, TransportEvents } from "../../firmware/platform/seam.js";

export function tcpOpener(port: number, host = "127.0.0.1") {
  return (events: TransportEvents): Transport => {
    const socket = net.connect(port, host);
    let error: Error | undefined;
    socket.on("connect", () => events.onOpen({}));
    socket.on("data", (d: Buffer) => events.onData(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    socket.on("error", (e) => (error = e));
    socket.on("close", () => events.onClose(error ? failure("connection-reset", error.message, true) : undefined));
    return { write: (bytes, more) => void socket.write(more ? Buffer.concat([bytes, more]) : Buffer.from(bytes)), close: () => void socket.end() };
  };
}

/** A deterministic random() so masks and keys are reproducible. */
export function seededRandom(seed = 42): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
}

export const realTimers = {
  setTimeout: (cb: () => void, ms: number) => setTimeout(cb, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
};

/** Resolves with the value `arm` produces through its callback, or rejects after `ms`. */
export function within<T>(ms: number, arm: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
    arm((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}
