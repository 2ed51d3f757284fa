import assert from "node:assert/strict";
import { WriteQueue, type WriteSink } from "../../firmware/platform/moddable/write-queue.js";

/** A socket with `room` bytes of buffer that records each write and throws on an over-long one, as Moddable's does. */
function socket(room: number) {
  const writes: number[][] = [];
  const sink: WriteSink & { room(): number; free(n: number): void } = {
    room: () => room,
    write(bytes, more) {
      const size = bytes.length + (more?.length ?? 0);
      if (size > room) throw new Error(`write of ${size} with room ${room}`);
      room -= size;
      writes.push([...bytes, ...(more ?? [])]);
    },
    free(n) { room += n; },
  };
  return { sink, writes };
}

const bytes = (...values: number[]) => new Uint8Array(values);

describe("Moddable write queue", () => {
  it("writes a header and a payload as one piece when nothing waits and they fit", () => {
    const { sink, writes } = socket(10);
    const queue = new WriteQueue(sink);
    queue.send(bytes(1, 2), bytes(3), { copy: true });
    assert.deepEqual(writes, [[1, 2, 3]]);
    assert.equal(queue.pending, 0);
  });

  it("never writes more than the socket has room for; the rest goes out, in order, as room frees up", () => {
    const { sink, writes } = socket(3);
    const queue = new WriteQueue(sink);
    queue.send(bytes(1, 2, 3, 4, 5), undefined, { copy: false });
    queue.send(bytes(6, 7), undefined, { copy: false });
    assert.deepEqual(writes, [[1, 2, 3]]);
    assert.equal(queue.pending, 4);
    assert.equal(queue.room(), 0, "a writer sees no room while bytes wait, so order is kept");
    sink.free(3);
    assert.equal(queue.flush(), false);
    sink.free(10);
    assert.equal(queue.flush(), true);
    assert.deepEqual(writes.flat(), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(queue.room(), 9);
  });

  it("keeps copies when asked, so the caller may reuse its buffers once send returns", () => {
    const { sink, writes } = socket(0);
    const queue = new WriteQueue(sink);
    const header = bytes(1, 2);
    const payload = bytes(3);
    queue.send(header, payload, { copy: true });
    header.fill(9);
    payload.fill(9);
    sink.free(8);
    queue.flush();
    assert.deepEqual(writes.flat(), [1, 2, 3]);
  });

  it("bounds each write to the chunk size, even with room for more", () => {
    const { sink, writes } = socket(100);
    const queue = new WriteQueue(sink, 4);
    queue.send(new Uint8Array(10).fill(1), undefined, { copy: false });
    assert.deepEqual(writes.map((w) => w.length), [4, 4, 2]);
  });

  it("holds bytes without writing until flushed (before the TLS handshake), and drops them on clear", () => {
    const { sink, writes } = socket(100);
    const queue = new WriteQueue(sink);
    queue.hold(bytes(1), bytes(2), { copy: true });
    assert.deepEqual(writes, []);
    queue.flush();
    assert.deepEqual(writes, [[1], [2]]);
    queue.hold(bytes(3), undefined, { copy: true });
    queue.clear();
    assert.equal(queue.flush(), true);
    assert.equal(writes.length, 2);
  });

  it("ignores an empty send", () => {
    const { sink, writes } = socket(0);
    const queue = new WriteQueue(sink);
    queue.send(new Uint8Array(0), undefined, { copy: true });
    assert.equal(queue.pending, 0);
    assert.deepEqual(writes, []);
  });
});
