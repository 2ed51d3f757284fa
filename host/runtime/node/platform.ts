// The platform seam under Node: real clock and timers, node:crypto, files for Storage and the
// update slot, node:tls for the network. The firmware runs on it unchanged.

import { createHash, createHmac } from "node:crypto";
import type { Log, Platform } from "../../../firmware/platform/seam.js";
import { join } from "node:path";
import { createFileStorage } from "./file-storage.js";
import { createFileUpdateSlot } from "./update-slot.js";
import { openNodeTlsTransport, type NodeTlsSettings } from "./tls-transport.js";

export interface NodePlatformOptions {
  /** Directory that holds the Storage files (created if missing). */
  storageDir: string;
  /** Where log lines go; default: stdout with a timestamp. */
  log?: Log;
  /** Uniform in [0, 1); default Math.random. Tests pin it. */
  random?: () => number;
  tls?: NodeTlsSettings;
  /** What restarts the device (the runner boots the firmware again on the same storage); without it the device cannot restart. */
  restart?: () => void;
}

/** A Platform backed by the host; throws only if `storageDir` cannot be created. */
export function createNodePlatform(opts: NodePlatformOptions): Platform {
  const bytes = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);
  return {
    clock: { now: () => Date.now(), isSet: () => true },
    timers: {
      setTimeout: (callback, ms) => {
        // Node counts a timer from its event loop's cached time, which can be behind Date.now()
        // (a long turn of the loop, ms rounding): it may fire before the device's clock says the
        // delay has passed. Waiting out the rest keeps the device's waits (its backoff) whole by its own clock.
        const due = Date.now() + ms;
        const handle: { timer?: NodeJS.Timeout } = {};
        const arm = (wait: number) => (handle.timer = setTimeout(() => (Date.now() < due ? arm(due - Date.now()) : callback()), wait));
        arm(ms);
        return handle;
      },
      // A handle never set (undefined) or already fired: nothing to clear, as Moddable's Timer.clear.
      clearTimeout: (handle) => clearTimeout((handle as { timer?: NodeJS.Timeout } | undefined)?.timer),
    },
    random: opts.random ?? Math.random,
    storage: createFileStorage(opts.storageDir),
    crypto: {
      sha256: (data) => bytes(createHash("sha256").update(data).digest()),
      sha1: (data) => bytes(createHash("sha1").update(data).digest()),
      hmacSha256: (key, data) => bytes(createHmac("sha256", key).update(data).digest()),
    },
    log: opts.log ?? ((line) => console.log(`${new Date().toISOString()} ${line}`)),
    openTransport: (options, events) => openNodeTlsTransport(options, events, opts.tls),
    restart: opts.restart,
    // The update slot's files live beside the Preference files, in the device's state.
    update: createFileUpdateSlot(join(opts.storageDir, "update")),
  };
}
