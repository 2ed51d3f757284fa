// The host-side Platform an XS runtime serves its guest from: real or manual time, a
// Preference-like store in the state directory, node:crypto, and a transport binding.

import { createHash, createHmac, randomInt } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Clock, OpenTransport, Platform, Storage, Timers } from "../../../firmware/platform/seam.js";

export interface HostPlatformOptions {
  /** Clock and timers; real time when absent (e.g. a ManualTime in tests). */
  time?: Clock & Timers;
  /** Where `storage` keeps its values across runs; in memory when absent. */
  stateDir?: string;
  /** Sockets (node:tls); opening anything fails the run when absent. */
  openTransport?: OpenTransport;
  random?: () => number;
  log?: (line: string) => void;
}

export function createHostPlatform(options: HostPlatformOptions = {}): Platform {
  const time = options.time ?? realTime;
  return {
    clock: { now: () => time.now(), isSet: () => time.isSet() },
    timers: { setTimeout: (callback, ms) => time.setTimeout(callback, ms), clearTimeout: (handle) => time.clearTimeout(handle) },
    random: options.random ?? (() => randomInt(0, 2 ** 48) / 2 ** 48),
    storage: options.stateDir ? fileStorage(options.stateDir) : memoryStorage(),
    crypto: {
      sha256: (data) => new Uint8Array(createHash("sha256").update(data).digest()),
      hmacSha256: (key, data) => new Uint8Array(createHmac("sha256", key).update(data).digest()),
    },
    log: options.log ?? ((line) => console.log(line)),
    openTransport: options.openTransport ?? (() => {
      throw new Error("this runtime was started without a transport binding");
    }),
  };
}

const realTime: Clock & Timers = {
  now: () => Date.now(),
  isSet: () => true,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

type Stored = { text: string } | { base64: string };

function memoryStorage(): Storage {
  const values = new Map<string, string | Uint8Array>();
  return {
    get: (key) => {
      const value = values.get(key);
      return value instanceof Uint8Array ? value.slice() : value;
    },
    set: (key, value) => void values.set(key, typeof value === "string" ? value : value.slice()),
    remove: (key) => void values.delete(key),
  };
}

/** One JSON file, `preferences.json`, rewritten atomically on each change (values are few and small). */
export function fileStorage(stateDir: string): Storage {
  const file = join(stateDir, "preferences.json");
  const read = (): Record<string, Stored> => {
    try {
      return JSON.parse(readFileSync(file, "utf8")) as Record<string, Stored>;
    } catch {
      return {};
    }
  };
  const write = (values: Record<string, Stored>) => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(values, null, 1));
    renameSync(`${file}.tmp`, file);
  };
  return {
    get(key) {
      const value = read()[key];
      if (!value) return undefined;
      return "text" in value ? value.text : new Uint8Array(Buffer.from(value.base64, "base64"));
    },
    set(key, value) {
      const values = read();
      values[key] = typeof value === "string" ? { text: value } : { base64: Buffer.from(value).toString("base64") };
      write(values);
    },
    remove(key) {
      const values = read();
      delete values[key];
      write(values);
    },
  };
}
