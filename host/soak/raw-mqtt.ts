// Bytes of hand-made MQTT packets, for the soak run and the hostile-input tests that send what a
// well-behaved encoder never would (a CONNECT declaring 200 MB, a PUBLISH over the limit).

/** An MQTT remaining-length field (the fixed header's variable-length integer) for `n`. */
export function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}
