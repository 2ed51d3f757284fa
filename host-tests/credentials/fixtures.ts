// Shared fixtures for the credentials tests: a CA, a device certificate and key made at run
// time, an in-memory Storage, a settable clock and a log that records every line.

import { createRootCa, generateRsaKey, issueCertificate, type Issued, type KeyPair } from "../../certs/pki.js";
import type { Clock, Storage } from "../../firmware/platform/seam.js";
import type { PartitionReader } from "../../firmware/credentials/load.js";

export interface Pki {
  ca: Issued;
  device: Issued;
  other: KeyPair;
  serverCa: Issued;
}

export async function makePki(): Promise<Pki> {
  const ca = await createRootCa({ subject: { commonName: "Device Root CA", country: "US" } });
  const device = await issueCertificate({ issuer: ca, kind: "client", subject: { commonName: "thing-1", country: "US" } });
  const serverCa = await createRootCa({ subject: { commonName: "Server Root CA" } });
  return { ca, device, other: await generateRsaKey(), serverCa };
}

export class MemoryStorage implements Storage {
  readonly values = new Map<string, string | Uint8Array>();
  get(key: string) {
    return this.values.get(key);
  }
  set(key: string, value: string | Uint8Array) {
    this.values.set(key, value);
  }
  remove(key: string) {
    this.values.delete(key);
  }
}

/** A clock pinned at `ms`; null is a clock that was never set. */
export function fixedClock(ms: number | null): Clock {
  return { now: () => ms ?? 0, isSet: () => ms !== null };
}

export function partitionOf(bytes: Uint8Array, name = "devcerts"): PartitionReader {
  return {
    name,
    byteLength: bytes.length,
    read: (offset, length) => (offset + length <= bytes.length ? bytes.slice(offset, offset + length) : undefined),
  };
}

export function recordingPlatform(clockMs: number | null = Date.now(), storage = new MemoryStorage()) {
  const lines: string[] = [];
  return { clock: fixedClock(clockMs), storage, log: (line: string) => void lines.push(line), lines };
}
