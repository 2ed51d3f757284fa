// The credentials container: one binary blob per device carrying its PKCS#8 key, certificate
// chain, trusted root CAs and settings. The same bytes are written to a flash partition, split
// into Preference entries, or baked in as a resource, so one decoder serves every source.
//
// Layout, little-endian:
//   0  magic "DCRD"
//   4  u8  version (2; version 1 had no validity entry)
//   5  u8  header size (16)
//   6  u16 entry count
//   8  u32 payload length (the entries, after the header)
//  12  u32 CRC-32 (IEEE) of bytes 0..11 followed by the payload
//  16  entries: u8 type, u8 reserved (0), u16 length, then `length` bytes
// Shared by the host encoder (certs/) and the device decoder: the layout lives in one place.
//
// The certificates are checked where the image is written (DER structure, key and leaf match,
// chain order: firmware/credentials/validate.ts, run by the `certs` tool and by fleet
// provisioning on the device); what the device must still judge at each boot, each
// certificate's validity window against its clock, is written beside them as the validity
// entry, so the device reads two numbers per certificate instead of parsing X.509
// (docs/firmware-size.md).

/** "DCRD", read as the little-endian u32 at offset 0. */
export const MAGIC = 0x44524344;
export const VERSION = 2;
export const HEADER_SIZE = 16;
export const ENTRY_HEADER_SIZE = 4;
export const MAX_ENTRY_LENGTH = 0xffff;

export const ENTRY_KEY = 1; // PKCS#8 DER private key (at most one)
export const ENTRY_CHAIN = 2; // X.509 DER, in chain order, leaf first
export const ENTRY_TRUSTED_CA = 3; // X.509 DER root CA the server chain must lead to
export const ENTRY_SETTING = 4; // UTF-8 "name\0value"
export const ENTRY_CODE_SIGNER = 5; // UTF-8 name (the OTA job's `certfile`), NUL, X.509 DER code-signing certificate
// Exactly one when there are certificates: per certificate, chain then trusted CAs in entry
// order, notBefore and notAfter as float64 epoch milliseconds.
export const ENTRY_VALIDITY = 6;
export const VALIDITY_SIZE = 16;

/** Default ESP32 data partition name holding the image. */
export const PARTITION_NAME = "devcerts";
/** Default resource name for development builds and the desktop simulator. */
export const RESOURCE_NAME = "devcreds.bin";
/** Preference (NVS) layout: `<prefix>.n` holds the part count, `<prefix>.<i>` each part. */
export const PREFERENCE_PREFIX = "creds";
/** ESP32 NVS limits for one entry (docs/moddable.md#storage). */
export const NVS_MAX_KEY = 15;
export const NVS_MAX_VALUE = 4000;

/** The Preference key of the part count (`"n"`) or of part `index`. */
export function preferenceKey(prefix: string, index: number | "n"): string {
  return prefix + "." + index;
}

/** CRC-32 (IEEE 802.3, reflected, as zlib), continued from `crc` over `bytes[start, end)`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  // Bitwise rather than a 1 KB table: the image is read once per boot.
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) {
    c ^= bytes[i]!;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** CRC of a whole container as stored in its header: bytes 0..11 then the payload. */
export function containerCrc(bytes: Uint8Array, payloadEnd: number): number {
  return crc32(bytes, HEADER_SIZE, payloadEnd, crc32(bytes, 0, 12));
}
