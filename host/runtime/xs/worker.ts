// A driver for @agoric/xsnap's `xsnap-worker` binary that speaks its netstring protocol
// directly, so the host process is not locked down by @endo/init.
//
// Protocol (xsnap-worker.c): the host writes netstrings on the worker's fd 3 and reads them on
// fd 4. Host -> worker: `e<source>` (sloppy global eval), `?<bytes>` (calls
// `globalThis.handleCommand(ArrayBuffer)`), `q` (quit). Worker -> host: `.<meter JSON>\x01<reply>`
// when a crank ends, `!<message>` for an uncaught exception, and `?<bytes>` while a crank runs,
// when the guest calls its synchronous `issueCommand(ArrayBuffer)`: the host must answer with
// `/<bytes>` before the guest can go on.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** xsnap's deterministic meter for one crank. */
export interface XsMeter {
  /** Computrons: XS work done by the crank. */
  compute: number;
  /** Live heap slots when the crank ended (after a `gc()`, the live set). */
  currentHeapCount: number;
  /** Bytes of chunk heap allocated by the machine so far. */
  allocate: number;
}

export interface XsReply {
  reply: Uint8Array;
  meter: XsMeter;
}

export interface XsWorkerOptions {
  /** Answers the guest's synchronous `issueCommand`; a throw here fails the worker. */
  onCommand?(request: Uint8Array): Uint8Array;
  /** One call per line the guest `print`s. */
  onPrint?(line: string): void;
  /** Computrons one crank may use before the worker stops it (xsnap's `-l`). */
  meteringLimit?: number;
  name?: string;
}

/** Thrown for an uncaught exception inside XS, a dead worker, or a protocol violation. */
export class XsError extends Error {
  override name = "XsError";
}

const require = createRequire(import.meta.url);

/** Returns the path of the built `xsnap-worker`; throws with the fix when it was not built. */
export function xsnapWorkerPath(): string {
  const packageDir = dirname(require.resolve("@agoric/xsnap/package.json"));
  const platform = process.platform === "darwin" ? "mac" : "lin";
  const path = join(packageDir, "xsnap-native/xsnap/build/bin", platform, "release/xsnap-worker");
  if (!existsSync(path)) {
    throw new XsError(`xsnap-worker is missing at ${path}: run 'npm rebuild @agoric/xsnap' to compile the XS engine`);
  }
  return path;
}

const OK = 0x2e; // '.'
const ERROR = 0x21; // '!'
const QUERY = 0x3f; // '?'
const METER_SEPARATOR = 0x01;

interface Pending {
  resolve(reply: XsReply): void;
  reject(error: Error): void;
}

/** One XS machine in a child process; cranks run one at a time, in the order asked. */
export class XsWorker {
  #child: ChildProcess;
  #toWorker: Writable;
  #options: XsWorkerOptions;
  #queue: { message: Uint8Array; pending: Pending }[] = [];
  #current: Pending | undefined;
  #input = new NetstringReader();
  #failure: Error | undefined;
  #exited: Promise<number | null>;
  #closing = false;
  #last: Promise<unknown> = Promise.resolve();

  constructor(options: XsWorkerOptions = {}) {
    this.#options = options;
    const args = [options.name ?? "xs", "-l", String(options.meteringLimit ?? 1e8)];
    this.#child = spawn(xsnapWorkerPath(), args, {
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "ignore", "ignore", "ignore", "ignore"],
    });
    this.#toWorker = this.#child.stdio[3] as Writable;
    this.#toWorker.on("error", () => {}); // a dead worker is reported by "exit"
    const fromWorker = this.#child.stdio[4] as Readable;
    fromWorker.on("data", (chunk: Buffer) => this.#receive(chunk));
    forEachLine(this.#child.stdout!, (line) => this.#options.onPrint?.(line));
    forEachLine(this.#child.stderr!, (line) => {
      // XS reports exceptions thrown by timer jobs and unhandled rejections only here.
      if (/unhandled/i.test(line)) this.#fail(new XsError(`XS reported: ${line}`));
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on("exit", (code, signal) => {
        if (!this.#closing || code !== 0) {
          const why = signal ? `signal ${signal}` : `code ${code} (${exitReasons[code ?? -1] ?? "unknown"})`;
          this.#fail(new XsError(`xsnap-worker exited with ${why}`));
        }
        resolve(code);
      });
    });
  }

  /** The first failure seen (uncaught exception, crash), if any. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Evaluates a script as a sloppy global eval; rejects on an uncaught exception. */
  evaluate(source: string): Promise<XsReply> {
    return this.#enqueue(concat(Buffer.from("e"), Buffer.from(source, "utf8")));
  }

  /** Calls `globalThis.handleCommand(bytes)` in the guest; the reply is what it returned. */
  issueCommand(bytes: Uint8Array): Promise<XsReply> {
    return this.#enqueue(concat(Buffer.from("?"), bytes));
  }

  /** Resolves when every crank asked so far has ended (whatever its outcome). */
  async idle(): Promise<void> {
    let last: Promise<unknown> | undefined;
    while (last !== this.#last) {
      last = this.#last;
      await last;
    }
  }

  /** Quits the worker; rejects when XS failed at any time (an uncaught exception earlier). */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      await this.idle();
      if (this.#child.exitCode === null) this.#toWorker.end(netstring(Buffer.from("q")));
    }
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
    if (this.#failure) throw this.#failure;
  }

  /** Kills the worker at once (no failure is reported for it). */
  terminate(): void {
    this.#closing = true;
    this.#child.kill("SIGKILL");
  }

  #enqueue(message: Uint8Array): Promise<XsReply> {
    const reply = new Promise<XsReply>((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      if (this.#closing) return reject(new XsError("the XS worker is closing"));
      this.#queue.push({ message, pending: { resolve, reject } });
      this.#next();
    });
    this.#last = reply.then(ignore, ignore);
    return reply;
  }

  #next(): void {
    if (this.#current || this.#failure) return;
    const item = this.#queue.shift();
    if (!item) return;
    this.#current = item.pending;
    this.#toWorker.write(netstring(item.message));
  }

  #receive(chunk: Buffer): void {
    let message: Buffer | undefined;
    this.#input.push(chunk);
    try {
      while ((message = this.#input.next())) this.#handle(message);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new XsError(String(error)));
      this.#child.kill("SIGKILL");
    }
  }

  #handle(message: Buffer): void {
    const current = this.#current;
    if (!current || message.length === 0) throw new XsError("xsnap protocol error: unexpected message");
    if (message[0] === QUERY) {
      this.#answer(message.subarray(1));
    } else if (message[0] === OK) {
      this.#current = undefined;
      current.resolve(parseOk(message));
      this.#next();
    } else if (message[0] === ERROR) {
      const error = new XsError(`uncaught exception in XS: ${message.subarray(1).toString("utf8")}`);
      this.#fail(error);
    } else {
      throw new XsError(`xsnap protocol error: unknown message ${message.subarray(0, 40).toString("utf8")}`);
    }
  }

  #answer(request: Uint8Array): void {
    let reply: Uint8Array;
    try {
      reply = this.#options.onCommand ? this.#options.onCommand(request) : request;
    } catch (error) {
      // Still answer, so the worker is not left blocked; the failure ends the run.
      this.#fail(error instanceof Error ? error : new XsError(String(error)));
      reply = new Uint8Array(0);
    }
    this.#toWorker.write(netstring(concat(Buffer.from("/"), reply)));
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const pending = [this.#current, ...this.#queue.map((item) => item.pending)];
    this.#current = undefined;
    this.#queue = [];
    for (const item of pending) item?.reject(this.#failure);
  }
}

const exitReasons: Record<number, string> = {
  1: "bad usage", 2: "I/O error", 11: "not enough memory", 12: "stack overflow",
  15: "unhandled exception", 16: "key space exhausted", 17: "too much computation",
};

function ignore(): void {}

function parseOk(message: Buffer): XsReply {
  const separator = message.indexOf(METER_SEPARATOR, 1);
  if (separator < 0) return { reply: message.subarray(1), meter: { compute: 0, currentHeapCount: 0, allocate: 0 } };
  const meter = JSON.parse(message.subarray(1, separator).toString("utf8")) as XsMeter;
  return { reply: message.subarray(separator + 1), meter: { compute: meter.compute, currentHeapCount: meter.currentHeapCount, allocate: meter.allocate } };
}

function concat(a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.concat([a, b]);
}

function netstring(payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${payload.length}:`), payload, Buffer.from(",")]);
}

/** Splits a byte stream into netstrings (`<length>:<bytes>,`). */
class NetstringReader {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
  }

  /** Returns the next whole message, undefined when more bytes are needed; throws on garbage. */
  next(): Buffer | undefined {
    const colon = this.#buffer.indexOf(0x3a);
    if (colon < 0) {
      if (this.#buffer.length > 10) throw new XsError("xsnap protocol error: bad netstring length");
      return undefined;
    }
    const length = Number(this.#buffer.subarray(0, colon).toString("latin1"));
    if (!Number.isInteger(length) || colon === 0) throw new XsError("xsnap protocol error: bad netstring length");
    const end = colon + 1 + length;
    if (this.#buffer.length < end + 1) return undefined;
    if (this.#buffer[end] !== 0x2c) throw new XsError("xsnap protocol error: netstring without its comma");
    const message = this.#buffer.subarray(colon + 1, end);
    this.#buffer = this.#buffer.subarray(end + 1);
    return message;
  }
}

function forEachLine(stream: Readable, line: (text: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (text: string) => {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const each of lines) line(each);
  });
  stream.on("end", () => rest && line(rest));
}
