// What a bootloader knows about the two app slots, for the bindings that keep it themselves
// (the host runtimes' files, the simulator's files; ESP32 keeps it in otadata): which slot boots,
// the one before it, each slot's version, and whether the running image awaits confirmation.
// Also the version an ESP-IDF app image declares, which is how those bindings tell images
// apart: the image header's magic byte 0xE9 at offset 0, and the application description
// (esp_app_desc_t: magic word 0xABCD5432, version string at offset 16, 32 bytes) after the
// 24-byte image header and the 8-byte segment header, at offset 32 (docs/ota.md).

import { failure, type Failure } from "./failure.js";

export type SlotName = "ota_0" | "ota_1";

export interface BootRecord {
  running: SlotName | null;
  previous: SlotName | null;
  versions: Partial<Record<SlotName, string>>;
  /** Activated and not yet confirmed. */
  pending: boolean;
}

export const EMPTY_RECORD: BootRecord = { running: null, previous: null, versions: {}, pending: false };

/** The slot an update is written to: the one not running. */
export function updateTarget(record: BootRecord): SlotName {
  return record.running === "ota_0" ? "ota_1" : "ota_0";
}

/** After activating `version` in the update target: it boots next, pending confirmation. */
export function activated(record: BootRecord, version: string): BootRecord {
  const slot = updateTarget(record);
  return { running: slot, previous: record.running, versions: { ...record.versions, [slot]: version }, pending: true };
}

/** After a rollback: the previous slot (or the image flashed first, when there was none) boots. */
export function rolledBack(record: BootRecord): BootRecord {
  return { running: record.previous, previous: null, versions: record.versions, pending: false };
}

/** The running image's version, undefined while the image flashed first runs. */
export function runningVersion(record: BootRecord): string | undefined {
  return record.running ? record.versions[record.running] : undefined;
}

/** The version `head` (an image's first 80 bytes or more) declares, or undefined when it is not an ESP-IDF app image. */
export function appImageVersion(head: Uint8Array): string | undefined {
  if (head.length < 80 || head[0] !== 0xe9 || head[32] !== 0x32 || head[33] !== 0x54 || head[34] !== 0xcd || head[35] !== 0xab) return undefined;
  let version = "";
  for (let i = 48; i < 80 && head[i]; i++) version += String.fromCharCode(head[i]!);
  return version || undefined;
}

/**
 * The boot-record half of a file-backed UpdateSlot (host runtimes, simulator), over the
 * binding's own `read` and `write` of the record: activation of the image written to the update
 * target (its first 80 bytes `head`; `written` of `size` bytes), confirmation, rollback and the
 * running version.
 */
export function bootRecordSteps(read: () => BootRecord, write: (record: BootRecord) => void) {
  return {
    activate(head: Uint8Array, written: number, size: number): Failure | undefined {
      const version = written === size ? appImageVersion(head) : undefined;
      if (!version) return failure("ota-invalid-image", `the image is not an ESP32 app image the bootloader would start (${written === size ? "no 0xE9 header or app description" : `${written} of ${size} bytes written`})`);
      write(activated(read(), version));
    },
    confirm() {
      const record = read();
      if (record.pending) write({ ...record, pending: false });
    },
    rollback() {
      write(rolledBack(read()));
      return true;
    },
    version: () => runningVersion(read()),
  };
}
