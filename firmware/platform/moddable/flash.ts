// The credentials partition on Moddable's Flash (ESP32 data partition, by name).

import Flash from "flash";
import type { PartitionReader } from "../../credentials/load.js";

/**
 * A reader for the data partition `name`, or undefined when the partition table has none
 * (the credentials loader then moves on to its next source).
 */
export function flashPartition(name: string): PartitionReader | undefined {
  let flash: Flash;
  try {
    flash = new Flash(name);
  } catch {
    return undefined;
  }
  const byteLength = flash.byteLength;
  return {
    name,
    byteLength,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > byteLength) return undefined;
      return new Uint8Array(flash.read(offset, length) as ArrayBuffer);
    },
  };
}
