import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { base64Encode } from "../../firmware/websocket/base64.js";
import { createFrameDecoder, encodeFrame, OP_BINARY, OP_PING, OP_CLOSE } from "../../firmware/websocket/frames.js";
import { createHeadReader } from "../../firmware/websocket/http-head.js";

function serverFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.length;
  const head = len < 126 ? [len] : len < 65536 ? [126, len >> 8, len & 255] : [127, 0, 0, 0, 0, (len >>> 24) & 255, (len >> 16) & 255, (len >> 8) & 255, len & 255];
  return new Uint8Array([(fin ? 0x80 : 0) | opcode, ...head, ...payload]);
}

function collect() {
  const payload: number[] = [];
  const controls: [number, number[]][] = [];
  const feed = createFrameDecoder({
    onPayload: (b) => payload.push(...b),
    onControl: (op, p) => controls.push([op, [...p]]),
  }, () => false);
  return { feed, payload, controls };
}

describe("WebSocket building blocks", () => {
  it("derives the RFC 6455 sample Sec-WebSocket-Accept from its sample key with the platform's SHA-1", () => {
    const accept = base64Encode(new Uint8Array(createHash("sha1").update("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()));
    assert.equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("encodes base64 exactly as Buffer does, padding included", () => {
    for (const n of [0, 1, 2, 3, 4, 5, 16, 31]) {
      const data = randomBytes(n);
      assert.equal(base64Encode(data), data.toString("base64"));
    }
  });

  it("masks outgoing frames so that XOR with the mask gives back the payload, for all three length forms", () => {
    for (const n of [0, 125, 126, 65535, 65536]) {
      const payload = randomBytes(n);
      const mask = new Uint8Array([1, 2, 3, 250]);
      const frame = encodeFrame(OP_BINARY, payload, mask);
      assert.equal(frame[0], 0x82);
      assert.ok(frame[1] & 0x80, "mask bit");
      const headerLength = frame.length - n;
      assert.deepEqual([...frame.subarray(headerLength - 4, headerLength)], [...mask]);
      const unmasked = frame.subarray(headerLength).map((b, i) => b ^ mask[i & 3]);
      assert.deepEqual(Buffer.from(unmasked), payload);
    }
  });

  it("streams fragmented binary payload and interleaved control frames fed one byte at a time", () => {
    const { feed, payload, controls } = collect();
    const bytes = new Uint8Array([
      ...serverFrame(OP_BINARY, new Uint8Array([1, 2, 3]), false),
      ...serverFrame(OP_PING, new Uint8Array([9])),
      ...serverFrame(0, new Uint8Array(300).fill(7), false),
      ...serverFrame(0, new Uint8Array([4]), true),
      ...serverFrame(OP_CLOSE, new Uint8Array([3, 232])),
    ]);
    for (const b of bytes) assert.equal(feed(new Uint8Array([b])), undefined);
    assert.deepEqual(payload, [1, 2, 3, ...new Array(300).fill(7), 4]);
    assert.deepEqual(controls, [[OP_PING, [9]], [OP_CLOSE, [3, 232]]]);
  });

  it("takes a 64-bit-length frame split across several reads", () => {
    const { feed, payload } = collect();
    const data = randomBytes(70000);
    const frame = serverFrame(OP_BINARY, data);
    for (let at = 0; at < frame.length; at += 4099) feed(frame.subarray(at, at + 4099));
    assert.deepEqual(Buffer.from(payload), data);
  });

  for (const [what, bytes, code] of [
    ["a masked server frame", [0x82, 0x81, 0, 0, 0, 0, 5], 1002],
    ["a text frame", [0x81, 0x01, 65], 1003],
    ["a continuation with nothing to continue", [0x80, 0x01, 1], 1002],
    ["reserved bits", [0xc2, 0x00], 1002],
    ["a fragmented ping", [0x09, 0x00], 1002],
    ["a new binary message inside a fragmented one", [0x02, 0x01, 1, 0x82, 0x01, 2], 1002],
  ] as const) {
    it(`refuses ${what} with close code ${code}`, () => {
      const { feed } = collect();
      const violation = feed(new Uint8Array(bytes));
      assert.equal(violation?.closeCode, code);
    });
  }

  it("reads an HTTP response head split anywhere and hands back the bytes after it", () => {
    const text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
    const all = new Uint8Array([...new TextEncoder().encode(text), 0x82, 0x00]);
    for (let split = 1; split < all.length; split += 7) {
      const readHead = createHeadReader();
      assert.equal(readHead(all.subarray(0, split)), undefined);
      const done = readHead(all.subarray(split));
      assert.ok(done && "head" in done);
      assert.equal(done.head.status, 101);
      assert.equal(done.head.headers["x-a"], "1, 2");
      assert.deepEqual([...done.rest], [0x82, 0x00]);
    }
  });

  it("reports a response that is not HTTP, or a head too long, as http-malformed-response", () => {
    const bad = createHeadReader()(new TextEncoder().encode("SSH-2.0-OpenSSH\r\n\r\n"));
    assert.equal(bad && "code" in bad ? bad.code : undefined, "http-malformed-response");
    const long = createHeadReader(100)(new Uint8Array(200).fill(65));
    assert.equal(long && "code" in long ? long.code : undefined, "http-malformed-response");
  });

  it("holds the 4,096-byte head bound when a 5,045-byte head arrives in one chunk, as when it arrives in pieces", () => {
    const head = new TextEncoder().encode(`HTTP/1.1 101 Switching Protocols\r\nX-Pad: ${"p".repeat(5000)}\r\n\r\n`);
    assert.equal(head.length, 5045);
    const whole = createHeadReader()(head);
    assert.equal(whole && "code" in whole ? whole.code : undefined, "http-malformed-response");
    const readHead = createHeadReader();
    let split: ReturnType<typeof readHead>;
    for (let i = 0; i < head.length && !split; i += 1000) split = readHead(head.subarray(i, i + 1000));
    assert.equal(split && "code" in split ? split.code : undefined, "http-malformed-response");
    const fits = createHeadReader()(new TextEncoder().encode(`HTTP/1.1 200 OK\r\nX-Pad: ${"p".repeat(4096 - 28)}\r\n\r\n`));
    assert.ok(fits && "head" in fits, "a head of exactly 4,096 bytes is read");
  });
});
