// Decodes a credentials container (layout in format.ts) into its entries, checking the header,
// the checksum and every entry bound. Never throws: malformed input is a Failure value.

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
const problem = fail;

/** The codes of a damaged image (the loader's own checks give them too). */
export const CORRUPT = "credentials-corrupt";
export const TRUNCATED = "credentials-truncated";

/** True when the first bytes are erased flash (0xFF) or zeros: nothing was ever written. */
export function isBlank(header: Uint8Array): boolean {
  if (header.length < 4) return header.length === 0;
  const b = header[0];
  return (b === 0xff || b === 0) && header[1] === b && header[2] === b && header[3] === b;
}

/**
 * Total container length announced by a header (at least HEADER_SIZE bytes), or a Failure
 * ("credentials-not-an-image", "credentials-unsupported-version", "credentials-truncated")
 * whose message is the problem only; callers prefix the source.
 */
export function containerLength(header: Uint8Array): Result<number> {
  if (header.length < HEADER_SIZE) return problem(TRUNCATED, `truncated: ${header.length} bytes, no header`);
  for (let i = 0; i < 4; i++) {
    if (header[i] !== MAGIC[i]) return problem("credentials-not-an-image", "not a credentials image");
  }
  if (header[4] !== VERSION) return problem("credentials-unsupported-version", `image version ${header[4]} is not ${VERSION} (write it again with this release's \`npm run certs\`)`);
  if (header[5] !== HEADER_SIZE) return problem(CORRUPT, `header size ${header[5]} is not ${HEADER_SIZE}`);
  return ok(HEADER_SIZE + u32(header, 8));
}

/**
 * Entries of a complete container. Failure codes: those of containerLength, plus
 * "credentials-checksum-mismatch" and "credentials-corrupt" (bad entry bounds, types, counts, a
 * validity entry that does not cover every certificate).
 */
export function decodeContainer(bytes: Uint8Array): Result<ContainerContents> {
  const length = containerLength(bytes);
  if (!length.ok) return length;
  const end = length.value;
  if (end > bytes.length) return problem(TRUNCATED, `truncated: ${bytes.length} of ${end} bytes present`);
  if (containerCrc(bytes, end) !== u32(bytes, 12)) return problem("credentials-checksum-mismatch", "checksum mismatch");
  return decodeEntries(bytes, end, bytes[6]! | (bytes[7]! << 8));
}

/** The little-endian unsigned 32-bit number at `at`. */
function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function decodeEntries(bytes: Uint8Array, end: number, count: number): Result<ContainerContents> {
  const contents: ContainerContents = { chain: [], trustedCa: [], settings: {}, codeSigners: [], validity: [] };
  let validity: DataView | undefined;
  const corrupt = (what: string) => problem<ContainerContents>(CORRUPT, `entry ${n} ${what}`);
  const decoder = new TextDecoder();
  let at = HEADER_SIZE;
  let n = 0;
  for (; n < count; n++) {
    if (at + ENTRY_HEADER_SIZE > end) break;
    const type = bytes[at]!;
    const length = bytes[at + 2]! | (bytes[at + 3]! << 8);
    const start = at + ENTRY_HEADER_SIZE;
    at = start + length;
    if (at > end) return corrupt("runs past the end");
    const data = bytes.subarray(start, at);
    if (type === ENTRY_KEY && !contents.key) contents.key = data;
    else if (type === ENTRY_CHAIN) contents.chain.push(data);
    else if (type === ENTRY_TRUSTED_CA) contents.trustedCa.push(data);
    else if (type === ENTRY_SETTING || type === ENTRY_CODE_SIGNER) {
      const split = data.indexOf(0);
      if (split <= 0) return corrupt("is unnamed");
      const name = decoder.decode(data.subarray(0, split));
      if (type === ENTRY_SETTING) contents.settings[name] = decoder.decode(data.subarray(split + 1));
      else contents.codeSigners.push([name, data.slice(split + 1)]); // a copy: kept for the device's life
    } else if (type === ENTRY_VALIDITY && !validity) validity = new DataView(data.buffer, data.byteOffset, length);
    else return corrupt(`(type ${type}) is unexpected`);
  }
  if (at !== end) return problem(CORRUPT, "entries and length disagree");
  const certificates = contents.chain.length + contents.trustedCa.length;
  if ((validity?.byteLength ?? 0) !== certificates * VALIDITY_SIZE) return problem(CORRUPT, `the validity entry does not cover the ${certificates} certificates`);
  for (let i = 0; i < certificates; i++) {
    contents.validity.push({ notBefore: validity!.getFloat64(i * VALIDITY_SIZE, true), notAfter: validity!.getFloat64(i * VALIDITY_SIZE + 8, true) });
  }
  return ok(contents);
}
