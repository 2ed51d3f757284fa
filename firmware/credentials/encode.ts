// The credentials container encoder (layout in format.ts), shared by the host tools (certs/)
// and the device, which writes its own credentials after fleet provisioning.

import { fail, ok, type Result } from "../platform/failure.js";
import {
  containerCrc, ENTRY_CHAIN, ENTRY_CODE_SIGNER, ENTRY_HEADER_SIZE, ENTRY_KEY, ENTRY_SETTING, ENTRY_TRUSTED_CA, ENTRY_VALIDITY, HEADER_SIZE, MAGIC,
  MAX_ENTRY_LENGTH, NVS_MAX_VALUE, preferenceKey, VALIDITY_SIZE, VERSION,
} from "./format.js";
import type { Validity } from "./validity.js";

export interface ContainerInput {
  /** PKCS#8 DER; omitted for devices that connect without a client certificate. */
  key?: Uint8Array;
  /** DER certificates, leaf first. */
  chain: Uint8Array[];
  trustedCa: Uint8Array[];
  settings?: Record<string, string>;
  /** Code-signing certificates: [the name an OTA job's `certfile` gives, DER]. */
  codeSigners?: [string, Uint8Array][];
  /** The window of each certificate, chain then trusted CAs (validate.ts's certificateWindows). */
  validity: Validity[];
}

/**
 * The container bytes, or "credentials-invalid" when an entry exceeds 65,535 bytes, a setting
 * name is empty or holds NUL, or `validity` does not hold one window per certificate.
 */
export function encodeContainer(contents: ContainerInput): Result<Uint8Array> {
  const entries: [number, Uint8Array][] = [];
  if (contents.key) entries.push([ENTRY_KEY, contents.key]);
  for (const cert of contents.chain) entries.push([ENTRY_CHAIN, cert]);
  for (const ca of contents.trustedCa) entries.push([ENTRY_TRUSTED_CA, ca]);
  const certificates = contents.chain.length + contents.trustedCa.length;
  if (contents.validity.length !== certificates) return fail("credentials-invalid", `${contents.validity.length} validity windows for ${certificates} certificates: give one per certificate`);
  if (certificates) {
    const windows = new DataView(new ArrayBuffer(certificates * VALIDITY_SIZE));
    contents.validity.forEach(({ notBefore, notAfter }, i) => {
      windows.setFloat64(i * VALIDITY_SIZE, notBefore, true);
      windows.setFloat64(i * VALIDITY_SIZE + 8, notAfter, true);
    });
    entries.push([ENTRY_VALIDITY, new Uint8Array(windows.buffer)]);
  }
  const encoder = new TextEncoder();
  const settings = contents.settings ?? {};
  for (const name in settings) {
    const value = settings[name]!;
    if (name === "" || name.includes("\0") || value.includes("\0")) return fail("credentials-invalid", `setting '${name}': names must be non-empty and neither name nor value may contain NUL`);
    entries.push([ENTRY_SETTING, encoder.encode(name + "\0" + value)]);
  }
  for (const [name, certificate] of contents.codeSigners ?? []) {
    if (name === "" || name.includes("\0")) return fail("credentials-invalid", `code-signing certificate '${name}': the name must be non-empty without NUL`);
    const named = encoder.encode(name + "\0");
    const data = new Uint8Array(named.length + certificate.length);
    data.set(named);
    data.set(certificate, named.length);
    entries.push([ENTRY_CODE_SIGNER, data]);
  }
  let payload = 0;
  for (const [, data] of entries) {
    if (data.length > MAX_ENTRY_LENGTH) return fail("credentials-invalid", `an entry of ${data.length} bytes exceeds the ${MAX_ENTRY_LENGTH}-byte limit`);
    payload += ENTRY_HEADER_SIZE + data.length;
  }
  const image = new Uint8Array(HEADER_SIZE + payload);
  const view = new DataView(image.buffer);
  view.setUint32(0, MAGIC, true);
  image[4] = VERSION;
  image[5] = HEADER_SIZE;
  view.setUint16(6, entries.length, true);
  view.setUint32(8, payload, true);
  let at = HEADER_SIZE;
  for (const [type, data] of entries) {
    image[at] = type;
    view.setUint16(at + 2, data.length, true);
    image.set(data, at + ENTRY_HEADER_SIZE);
    at += ENTRY_HEADER_SIZE + data.length;
  }
  view.setUint32(12, containerCrc(image, image.length), true);
  return ok(image);
}

/** The container as NVS-sized Preference entries: `<prefix>.n` = part count, `<prefix>.<i>` = parts (at most 4,000 bytes each). */
export function preferenceParts(image: Uint8Array, prefix: string): { key: string; value: string | Uint8Array }[] {
  const count = Math.ceil(image.length / NVS_MAX_VALUE);
  const entries: { key: string; value: string | Uint8Array }[] = [{ key: preferenceKey(prefix, "n"), value: String(count) }];
  for (let i = 0; i < count; i++) entries.push({ key: preferenceKey(prefix, i), value: image.slice(i * NVS_MAX_VALUE, (i + 1) * NVS_MAX_VALUE) });
  return entries;
}
