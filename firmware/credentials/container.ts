// Decodes a credentials container (layout in format.ts) into its entries. Checked: the header
// (magic, version, length) and the CRC-32 over header and entries. An image whose checksum
// matches was written by our encoder, which the `certs` tool and fleet provisioning run only on
// contents that pass validate.ts (and `certs` decodes what it wrote again), so the entries are
// read without checks of their own: what a hand-made image gets wrong there cannot make the
// reading throw (views are clipped, unknown entry types are skipped), and a validity entry that
// does not cover every certificate is refused. Never throws: malformed input is a Failure value.

import { fail, ok, type Result } from "../platform/failure.js";
import {
  containerCrc,
  ENTRY_CHAIN,
  ENTRY_CODE_SIGNER,
  ENTRY_HEADER_SIZE,
  ENTRY_KEY,
  ENTRY_SETTING,
  ENTRY_TRUSTED_CA,
  ENTRY_VALIDITY,
  HEADER_SIZE,
  MAGIC,
  VALIDITY_SIZE,
  VERSION,
} from "./format.js";
import type { Validity } from "./validity.js";

export interface ContainerContents {
  key?: Uint8Array;
  chain: Uint8Array[];
  trustedCa: Uint8Array[];
  settings: Record<string, string>;
  /** Code-signing certificates: [name (an OTA job's `certfile`), DER]. */
  codeSigners: [string, Uint8Array][];
  /** The window of each certificate, chain then trusted CAs (one each; none without certificates). */
  validity: Validity[];
}

// Failure messages here state the problem only; the loader prefixes the source and the fix.

/** The codes of a damaged image (the loader's own checks give them too). */
export const CORRUPT = "credentials-corrupt";
export const TRUNCATED = "credentials-truncated";

/** True when the first four bytes are erased flash (0xFF) or zeros: nothing was ever written. */
export function isBlank(header: Uint8Array): boolean {
  const first = u32(header, 0);
  return first === 0 || first === 0xffffffff;
}

/**
 * The container length a header announces, when `available` bytes hold it all; `bytes` may be
 * the header alone (HEADER_SIZE bytes). Failure codes: "credentials-not-an-image",
 * "credentials-unsupported-version", "credentials-truncated", with the problem only as message.
 */
export function containerLength(bytes: Uint8Array, available = bytes.length): Result<number> {
  // Bytes past a short input's end read as 0: its announced length is at least HEADER_SIZE.
  const end = HEADER_SIZE + u32(bytes, 8);
  if (bytes.length >= HEADER_SIZE) {
    if (u32(bytes, 0) !== MAGIC) return fail("credentials-not-an-image", "not a credentials image");
    if (bytes[4] !== VERSION) return fail("credentials-unsupported-version", `image version ${bytes[4]} is not ${VERSION}`);
  }
  return end > available ? fail(TRUNCATED, `truncated: ${available} of ${end} bytes present`) : ok(end);
}

/**
 * Entries of a complete container. Failure codes: those of containerLength, plus
 * "credentials-checksum-mismatch", and "credentials-corrupt" for a validity entry that does not
 * cover every certificate.
 */
export function decodeContainer(bytes: Uint8Array): Result<ContainerContents> {
  const length = containerLength(bytes);
  if (!length.ok) return length;
  const end = length.value;
  if (containerCrc(bytes, end) !== u32(bytes, 12)) return fail("credentials-checksum-mismatch", "checksum mismatch");
  const contents: ContainerContents = { chain: [], trustedCa: [], settings: {}, codeSigners: [], validity: [] };
  const decoder = new TextDecoder();
  let validity = bytes.subarray(0, 0);
  for (let at = HEADER_SIZE; at < end;) {
    const type = bytes[at];
    const start = at + ENTRY_HEADER_SIZE;
    at = start + (bytes[at + 2]! | (bytes[at + 3]! << 8));
    const data = bytes.subarray(start, at);
    if (type === ENTRY_KEY) contents.key = data;
    else if (type === ENTRY_CHAIN) contents.chain.push(data);
    else if (type === ENTRY_TRUSTED_CA) contents.trustedCa.push(data);
    else if (type === ENTRY_VALIDITY) validity = data;
    else if (type === ENTRY_SETTING || type === ENTRY_CODE_SIGNER) {
      const split = data.indexOf(0);
      const name = decoder.decode(data.subarray(0, split));
      if (type === ENTRY_SETTING) contents.settings[name] = decoder.decode(data.subarray(split + 1));
      else contents.codeSigners.push([name, data.slice(split + 1)]); // a copy: kept for the device's life
    }
  }
  const certificates = contents.chain.length + contents.trustedCa.length;
  if (validity.length !== certificates * VALIDITY_SIZE) return fail(CORRUPT, `the validity entry does not cover the ${certificates} certificates`);
  const windows = new DataView(validity.buffer, validity.byteOffset);
  for (let i = 0; i < validity.length; i += VALIDITY_SIZE) {
    contents.validity.push({ notBefore: windows.getFloat64(i, true), notAfter: windows.getFloat64(i + 8, true) });
  }
  return ok(contents);
}

/** The little-endian unsigned 32-bit number at `at` (bytes past the end read as 0). */
function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}
