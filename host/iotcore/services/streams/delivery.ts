// MQTT-based file delivery's device requests as AWS documents them (docs/jobs.md, "MQTT-based
// file delivery"): DescribeStream and GetStream in JSON or CBOR, their field names (c, s, f, l, o, n, b),
// the bounds AWS sets and the error codes it answers. Pure: the stream and the file sizes come
// in, the blocks to send go out; reading the bytes is the caller's.
import { decode, encode } from "cbor2";

/** AWS's limits for GetStream. */
export const DELIVERY_LIMITS = {
  minBlockSize: 256,
  maxBlockSize: 131_072,
  /** "o" and "n": 0 to 98,304 (a 24 MB file in blocks of 256 bytes) */
  maxOffset: 98_304,
  maxBlocks: 98_304,
  /** the data sent for one request is at most 128 KB; a larger request is served in part */
  maxBytesPerRequest: 131_072,
  /** the bitmap must be smaller than 12,288 bytes */
  maxBitmapBytes: 12_288,
  maxClientTokenBytes: 64,
  maxFileId: 255,
} as const;

export type DeliveryErrorCode = "InvalidTopic" | "InvalidJson" | "InvalidCbor" | "InvalidRequest" | "Unauthorized" | "BlockSizeOutOfBounds"
  | "OffsetOutOfBounds" | "BlockCountLimitExceeded" | "BlockBitmapLimitExceeded" | "ResourceNotFound" | "VersionMismatch" | "ETagMismatch" | "InternalError";

export interface DeliveryError { code: DeliveryErrorCode; message: string; clientToken?: string }

/** What DescribeStream and GetStream need to know of a stream. */
export interface StreamView {
  streamId: string;
  streamVersion: number;
  description?: string;
  /** file id to size in bytes; undefined size: the file source is missing */
  files: { fileId: number; size: number | undefined }[];
}

export interface BlockRequest {
  clientToken?: string;
  fileId: number;
  blockSize: number;
  /** block ids to send, ascending, each within the file */
  blocks: number[];
}

type Result<T> = { ok: true; value: T } | { ok: false; error: DeliveryError };

/** The wire format a request came in, chosen by the topic's last level; answers use the same. */
export type Format = "json" | "cbor";

/** The request's CBOR map (an empty payload is `{}`), or InvalidCbor. */
export function parseCborRequest(payload: Uint8Array): Result<Record<string, unknown>> {
  if (payload.length === 0) return { ok: true, value: {} };
  try {
    const value: unknown = decode(payload);
    if (typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
      return { ok: true, value: value instanceof Map ? Object.fromEntries(value) as Record<string, unknown> : value as Record<string, unknown> };
    }
  } catch {
    // InvalidCbor below
  }
  return { ok: false, error: { code: "InvalidCbor", message: "The stream request is not a valid CBOR document" } };
}

/** An answer in the request's format: JSON text, or CBOR (whose byte strings carry `p` and `b` as bytes). */
export function encodeAnswer(format: Format, body: Record<string, unknown>): Buffer | string {
  return format === "json" ? JSON.stringify(body) : Buffer.from(encode(body));
}

/** The request's JSON object (an empty payload is `{}`), or InvalidJson. */
export function parseJsonRequest(payload: Uint8Array): Result<Record<string, unknown>> {
  if (payload.length === 0) return { ok: true, value: {} };
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
  } catch {
    // InvalidJson below
  }
  return { ok: false, error: { code: "InvalidJson", message: "The stream request is not a valid JSON document" } };
}

/** The client token when it is valid (a string of at most 64 bytes); AWS leaves an invalid one out of the error. */
export function clientTokenOf(body: Record<string, unknown>): Result<string | undefined> {
  const token = body.c;
  if (token === undefined) return { ok: true, value: undefined };
  if (typeof token !== "string" || Buffer.byteLength(token) > DELIVERY_LIMITS.maxClientTokenBytes) {
    return { ok: false, error: { code: "InvalidRequest", message: `The client token must be a string of at most ${DELIVERY_LIMITS.maxClientTokenBytes} bytes` } };
  }
  return { ok: true, value: token };
}

/** DescribeStream's answer: `{c, s, d, r: [{f, z}]}`. */
export function describeAnswer(stream: StreamView, clientToken: string | undefined): Record<string, unknown> {
  return {
    ...(clientToken !== undefined ? { c: clientToken } : {}), s: stream.streamVersion,
    ...(stream.description !== undefined ? { d: stream.description } : {}),
    r: stream.files.filter((f) => f.size !== undefined).map((f) => ({ f: f.fileId, z: f.size })),
  };
}

function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value);
}

/** A bitmap in AWS's hexadecimal notation ("0x130080" or "130080"); bit i of byte k is block offset + 8k + i. */
export function decodeBitmap(text: string): Uint8Array | undefined {
  const hex = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
  if (hex.length === 0 || !/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  return Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, "hex");
}

/**
 * A GetStream request checked as AWS checks it, in this order: client token, stream version,
 * file id, block size, offset, block count, bitmap; then the block ids to send (the bitmap's set
 * bits from the offset, or `n` blocks from the offset), at most `n` (default 128 KB / block
 * size) and at most 128 KB of data in all. An offset past the file's last block is
 * OffsetOutOfBounds; a request naming no block of the file is ResourceNotFound.
 */
export function planGetStream(stream: StreamView, body: Record<string, unknown>): Result<BlockRequest> {
  const token = clientTokenOf(body);
  if (!token.ok) return token;
  const clientToken = token.value;
  const fail = (code: DeliveryErrorCode, message: string): Result<BlockRequest> => ({ ok: false, error: { code, message, ...(clientToken !== undefined ? { clientToken } : {}) } });
  const L = DELIVERY_LIMITS;
  if (body.s !== undefined) {
    if (!isInteger(body.s)) return fail("InvalidRequest", "The stream version (s) must be an integer");
    if (body.s !== stream.streamVersion) return fail("VersionMismatch", `The stream version ${body.s} does not match the stream's version ${stream.streamVersion}`);
  }
  if (!isInteger(body.f) || body.f < 0 || body.f > L.maxFileId) return fail("InvalidRequest", `The file id (f) must be an integer from 0 to ${L.maxFileId}`);
  const file = stream.files.find((f) => f.fileId === body.f);
  if (!file) return fail("ResourceNotFound", `Stream ${stream.streamId} has no file ${body.f}`);
  if (file.size === undefined) return fail("ResourceNotFound", `The source of file ${body.f} of stream ${stream.streamId} was not found`);
  if (!isInteger(body.l)) return fail("InvalidRequest", "The block size (l) must be an integer");
  if (body.l < L.minBlockSize || body.l > L.maxBlockSize) return fail("BlockSizeOutOfBounds", `The block size ${body.l} is out of bounds: ${L.minBlockSize} to ${L.maxBlockSize} bytes`);
  const offset = body.o ?? 0;
  if (!isInteger(offset) || offset < 0 || offset > L.maxOffset) return fail("OffsetOutOfBounds", `The offset ${String(offset)} is out of bounds: 0 to ${L.maxOffset}`);
  if (body.n !== undefined && (!isInteger(body.n) || body.n < 0 || body.n > L.maxBlocks)) return fail("BlockCountLimitExceeded", `The number of blocks ${String(body.n)} is out of bounds: 0 to ${L.maxBlocks}`);
  let bitmap: Uint8Array | undefined;
  if (body.b instanceof Uint8Array) {
    bitmap = body.b;
    if (bitmap.length === 0) return fail("InvalidRequest", "The bitmap (b) is empty");
    if (bitmap.length >= L.maxBitmapBytes) return fail("BlockBitmapLimitExceeded", `The bitmap has ${bitmap.length} bytes; it must be smaller than ${L.maxBitmapBytes}`);
  } else if (body.b !== undefined) {
    if (typeof body.b !== "string" || (bitmap = decodeBitmap(body.b)) === undefined) return fail("InvalidRequest", "The bitmap (b) must be a string of hexadecimal digits (a byte string in CBOR)");
    if (bitmap.length >= L.maxBitmapBytes) return fail("BlockBitmapLimitExceeded", `The bitmap has ${bitmap.length} bytes; it must be smaller than ${L.maxBitmapBytes}`);
  }
  const blockSize = body.l;
  const blockCount = Math.ceil(file.size / blockSize);
  if (offset >= blockCount) return fail("OffsetOutOfBounds", `The offset ${offset} is past the last block (${blockCount - 1}) of file ${file.fileId} in blocks of ${blockSize} bytes`);
  const perRequest = Math.floor(L.maxBytesPerRequest / blockSize);
  const limit = Math.min(body.n === undefined || body.n === 0 ? perRequest : body.n, perRequest);
  const blocks: number[] = [];
  if (bitmap) {
    for (let byte = 0; byte < bitmap.length && blocks.length < limit; byte++) {
      for (let bit = 0; bit < 8 && blocks.length < limit; bit++) {
        const block = offset + byte * 8 + bit;
        if ((bitmap[byte] & (1 << bit)) !== 0 && block < blockCount) blocks.push(block);
      }
    }
  } else {
    for (let block = offset; block < blockCount && blocks.length < limit; block++) blocks.push(block);
  }
  if (blocks.length === 0) return fail("ResourceNotFound", `The request names no block of file ${file.fileId} (${blockCount} blocks of ${blockSize} bytes)`);
  return { ok: true, value: { ...(clientToken !== undefined ? { clientToken } : {}), fileId: file.fileId, blockSize, blocks } };
}

/** One GetStream answer message: `{c, f, l, i, p}` with the block's bytes in base64 (JSON) or as a byte string (CBOR). */
export function blockAnswer(request: BlockRequest, block: number, bytes: Uint8Array, format: Format = "json"): Record<string, unknown> {
  return {
    ...(request.clientToken !== undefined ? { c: request.clientToken } : {}),
    f: request.fileId, l: bytes.length, i: block, p: format === "json" ? Buffer.from(bytes).toString("base64") : bytes,
  };
}

/** The error document on `.../rejected/json`: `{o, m, c}`. */
export function errorAnswer(error: DeliveryError): Record<string, unknown> {
  return { o: error.code, m: error.message, ...(error.clientToken !== undefined ? { c: error.clientToken } : {}) };
}
