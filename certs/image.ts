// The credentials container (encoder in firmware/credentials/encode.ts, shared with the device)
// and its three deliveries: a flash partition image, Preference (NVS) entries, and a resource.

import { encodeContainer, preferenceParts, type ContainerInput } from "../firmware/credentials/encode.js";
import { NVS_MAX_KEY, PARTITION_NAME, PREFERENCE_PREFIX } from "../firmware/credentials/format.js";
import { certificateWindows } from "../firmware/credentials/validate.js";

/** What a credentials image holds (the firmware's own container input; the validity windows are read from the certificates). */
export type ImageContents = Omit<ContainerInput, "validity">;

const FLASH_SECTOR = 4096;
/** Default partition size: room for longer chains and more CAs without a new partition table. */
export const DEFAULT_PARTITION_SIZE = 0x4000;

/**
 * The container bytes, with the validity window of each certificate read from it. Throws an
 * Error with the firmware's code and sentence when a certificate or the key would be refused
 * for its structure (not DER, chain out of order, key not RSA PKCS#8 or not the leaf's:
 * firmware/credentials/validate.ts), an entry exceeds 65535 bytes, or a setting name is empty
 * or holds NUL. Dates are the device's to judge, by its clock: an expired certificate is written.
 */
export function encodeImage(contents: ImageContents): Uint8Array {
  const windows = certificateWindows(contents);
  const image = windows.ok ? encodeContainer({ ...contents, validity: windows.value }) : windows;
  if (!image.ok) throw Object.assign(new Error(`${image.failure.code}: ${image.failure.message}`), { code: image.failure.code });
  return image.value;
}

/** The default size, or the smallest multiple of 4 KB above it that holds `imageLength` bytes. */
export function partitionSizeFor(imageLength: number): number {
  return Math.max(DEFAULT_PARTITION_SIZE, Math.ceil(imageLength / FLASH_SECTOR) * FLASH_SECTOR);
}

/** The image padded with 0xFF (erased flash) to `size`. Throws when it does not fit or size is not a 4 KB multiple. */
export function partitionImage(image: Uint8Array, size = partitionSizeFor(image.length)): Uint8Array {
  if (size % FLASH_SECTOR !== 0) throw new Error(`partition size ${size} is not a multiple of 4 KB`);
  if (image.length > size) throw new Error(`the image (${image.length} bytes) does not fit a ${size}-byte partition; pass a larger --partition-size`);
  const out = new Uint8Array(size).fill(0xff);
  out.set(image, 0);
  return out;
}

/** The ESP-IDF partitions.csv line for the credentials partition (custom data subtype 0x40). */
export function partitionTableLine(size: number, name = PARTITION_NAME): string {
  return `${name},  data, 0x40,    ,  0x${size.toString(16)},`;
}

export interface PreferenceEntry {
  key: string;
  value: string | Uint8Array;
}

/** The image as NVS-sized Preference entries: `<prefix>.n` = part count, `<prefix>.<i>` = parts. Throws if a key would exceed 15 chars. */
export function preferenceEntries(image: Uint8Array, prefix = PREFERENCE_PREFIX): PreferenceEntry[] {
  const entries = preferenceParts(image, prefix);
  for (const { key } of entries) {
    if (key.length > NVS_MAX_KEY) throw new Error(`Preference key '${key}' is longer than ${NVS_MAX_KEY} characters; use a shorter --prefix`);
  }
  return entries;
}

/** CSV for ESP-IDF's nvs_partition_gen.py: one namespace, strings as string, parts as base64 blobs. */
export function nvsCsv(entries: PreferenceEntry[], namespace: string): string {
  const rows = ["key,type,encoding,value", `${namespace},namespace,,`];
  for (const { key, value } of entries) {
    rows.push(typeof value === "string" ? `${key},data,string,${value}` : `${key},data,base64,${Buffer.from(value).toString("base64")}`);
  }
  return rows.join("\n") + "\n";
}
