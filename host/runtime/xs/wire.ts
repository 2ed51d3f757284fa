// The message format between the host and the guest inside XS, used on both sides (it runs
// under Node and inside XS, so it uses nothing but ES2022 and TextEncoder/TextDecoder).
//
// A message is a small JSON header plus binary parts, so bytes never travel as text:
//   u32 header length | header (UTF-8 JSON) | per part: u32 length | bytes

export type WireHeader = Record<string, unknown>;

export interface WireMessage {
  header: WireHeader;
  parts: Uint8Array[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Returns the message as one buffer that starts at offset 0 (XS's issueCommand takes it whole). */
export function encodeWire(header: WireHeader, parts: readonly Uint8Array[] = []): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  let size = 4 + json.length;
  for (const part of parts) size += 4 + part.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, json.length);
  bytes.set(json, 4);
  let at = 4 + json.length;
  for (const part of parts) {
    view.setUint32(at, part.length);
    bytes.set(part, at + 4);
    at += 4 + part.length;
  }
  return bytes;
}

/** Parts are views into `bytes`; throws on a truncated message (a bug on the other side). */
export function decodeWire(bytes: Uint8Array): WireMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0);
  const header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + headerLength))) as WireHeader;
  const parts: Uint8Array[] = [];
  let at = 4 + headerLength;
  while (at < bytes.length) {
    const length = view.getUint32(at);
    if (at + 4 + length > bytes.length) throw new Error("wire message truncated");
    parts.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return { header, parts };
}
