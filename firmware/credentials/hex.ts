// Bytes as lower-case hex: a certificate's fingerprint in the log, SigV4's hashes and signatures.

/** `bytes` as lower-case hex, two digits a byte. Cannot fail. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return out;
}
