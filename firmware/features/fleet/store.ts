// The device's own credentials after fleet provisioning, in Preference, written so that a power
// cut between any two steps leaves a state the next boot recovers from:
//   fleet.n, fleet.0..  the credentials container (key, certificate, trusted CA; format.ts)
//   fleet.s             the stage record, written last: stage, certificate id, ownership token
//                       or thing name, the container's CRC, and a CRC of the record itself.
// A record whose CRC fails, or that names another container CRC than the one stored (a
// container half written before the record), counts as nothing: provisioning starts over.

import { containerCrc, crc32, HEADER_SIZE } from "../../credentials/format.js";
import { preferenceParts } from "../../credentials/encode.js";
import { readPreference } from "../../credentials/load.js";
import type { Storage } from "../../platform/seam.js";

export const STORE_PREFIX = "fleet";
const STAGE_KEY = "fleet.s";

/** keys: own key and certificate stored, not registered yet; registered: the thing exists; connected: the certificate has connected once. */
export type FleetStage = "keys" | "registered" | "connected";

export interface FleetRecord {
  stage: FleetStage;
  certificateId: string;
  /** the ownership token (stage "keys") */
  token?: string;
  /** the thing name (stages "registered" and "connected") */
  thingName?: string;
  /** CRC of the stored container (its header's checksum field) */
  containerCrc: number;
}

export interface StoredCredentials { record: FleetRecord; container: Uint8Array }

const encoder = new TextEncoder();

/** The stored stage and container, or a reason why there is none usable (nothing stored, or a half-written store). */
export function loadStore(storage: Storage): { ok: true; value: StoredCredentials } | { ok: false; reason: string } {
  const text = storage.get(STAGE_KEY);
  if (typeof text !== "string") return { ok: false, reason: "nothing stored" };
  const hash = text.lastIndexOf("#");
  const body = text.slice(0, hash);
  if (hash < 0 || Number.parseInt(text.slice(hash + 1), 16) !== crc32(encoder.encode(body))) return { ok: false, reason: `the stage record '${STAGE_KEY}' fails its checksum (half written)` };
  let record: FleetRecord;
  try {
    record = JSON.parse(body) as FleetRecord;
  } catch {
    return { ok: false, reason: `the stage record '${STAGE_KEY}' is not JSON` };
  }
  const bytes = readPreference(storage, STORE_PREFIX);
  if (!bytes.ok || !bytes.value) return { ok: false, reason: `the credentials '${STORE_PREFIX}.*' are ${bytes.ok ? "missing" : "incomplete: " + bytes.failure.message}` };
  const container = bytes.value;
  const stored = container.length >= HEADER_SIZE ? new DataView(container.buffer, container.byteOffset).getUint32(12, true) : -1;
  if (stored !== record.containerCrc || containerCrc(container, container.length) !== stored) {
    return { ok: false, reason: `the credentials '${STORE_PREFIX}.*' fail their checksum or are not the ones the stage record names (half written)` };
  }
  return { ok: true, value: { record, container } };
}

/** Stores a new container and its "keys" record: the record goes last, so a cut before it leaves nothing. */
export function storeKeys(storage: Storage, container: Uint8Array, certificateId: string, token: string): FleetRecord {
  storage.remove(STAGE_KEY);
  const parts = preferenceParts(container, STORE_PREFIX);
  // The part count goes last among the container's entries.
  for (const { key, value } of parts.slice(1)) storage.set(key, value);
  storage.set(parts[0]!.key, parts[0]!.value);
  const containerCrc = new DataView(container.buffer, container.byteOffset).getUint32(12, true);
  return writeRecord(storage, { stage: "keys", certificateId, token, containerCrc });
}

/** Moves the record on (one Preference write): registered with its thing name, or connected. */
export function advance(storage: Storage, record: FleetRecord, stage: FleetStage, thingName = record.thingName): FleetRecord {
  return writeRecord(storage, { stage, certificateId: record.certificateId, thingName, containerCrc: record.containerCrc });
}

/** Forgets the stage (the container is overwritten by the next storeKeys). */
export function clearStore(storage: Storage): void {
  storage.remove(STAGE_KEY);
}

function writeRecord(storage: Storage, record: FleetRecord): FleetRecord {
  const body = JSON.stringify(record);
  storage.set(STAGE_KEY, body + "#" + crc32(encoder.encode(body)).toString(16));
  return record;
}
