// Bytes as lower-case hex: a certificate's fingerprint in the log, SigV4's hashes and signatures.

/** `bytes` as lower-case hex, two digits a byte. Cannot fail. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  // 0x100 | byte has three hex digits: the last two are the byte's, zero-padded.
  for (const byte of bytes) out += (0x100 | byte).toString(16).slice(1);
  return out;
}
