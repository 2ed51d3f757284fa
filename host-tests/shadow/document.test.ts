import assert from "node:assert/strict";
import {
  applyUpdate, delta, depth, getDocument, merge, parseTokenRequest, parseUpdate, tombstone, type ShadowRecord, type UpdateRequest,
} from "../../host/iotcore/services/iotdata/document.js";

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

function update(stored: ShadowRecord | undefined, request: UpdateRequest, now = 100) {
  const result = applyUpdate(stored, request, now);
  assert.ok(result.ok, JSON.stringify(result));
  return result.value;
}

function rejected(payload: unknown): { code: number; message: string } {
  const parsed = parseUpdate(bytes(payload));
  assert.equal(parsed.ok, false);
  return (parsed as { error: { code: number; message: string } }).error;
}

describe("Device Shadow documents (stand-in rules)", () => {
  it("merges nested objects key by key, replaces arrays and deletes keys set to null", () => {
    const merged = merge({ a: { b: 1, c: 2 }, list: [1, 2, 3], gone: true }, { a: { c: 3, d: 4 }, list: [9], gone: null });
    assert.deepEqual(merged, { a: { b: 1, c: 3, d: 4 }, list: [9] });
  });

  it("drops objects left empty by deletions, and the section itself", () => {
    assert.deepEqual(merge({ a: { b: 1 }, k: 1 }, { a: { b: null } }), { k: 1 });
    assert.equal(merge({ a: 1 }, { a: null }), undefined);
  });

  it("computes the delta from desired fields that reported lacks or holds differently, nested", () => {
    assert.deepEqual(delta({ color: "red", lights: { on: true, level: 3 }, same: [1] }, { color: "green", lights: { on: true }, same: [1], extra: 1 }),
      { color: "red", lights: { level: 3 } });
    assert.equal(delta({ a: 1 }, { a: 1 }), undefined);
    assert.equal(delta(undefined, { a: 1 }), undefined);
  });

  it("creates a shadow at version 1 with per-leaf metadata timestamps, and echoes the clientToken", () => {
    const result = update(undefined, { desired: { interval: 5000, lights: { on: true } }, clientToken: "t1" }, 1700);
    assert.equal(result.record.version, 1);
    assert.deepEqual(result.record.metadata.desired, { interval: { timestamp: 1700 }, lights: { on: { timestamp: 1700 } } });
    assert.deepEqual(result.accepted, {
      state: { desired: { interval: 5000, lights: { on: true } } },
      metadata: { desired: { interval: { timestamp: 1700 }, lights: { on: { timestamp: 1700 } } } },
      version: 1, timestamp: 1700, clientToken: "t1",
    });
    assert.deepEqual(result.delta, {
      version: 1, timestamp: 1700, state: { interval: 5000, lights: { on: true } },
      metadata: { interval: { timestamp: 1700 }, lights: { on: { timestamp: 1700 } } }, clientToken: "t1",
    });
    assert.deepEqual(result.documents.previous, null);
    assert.deepEqual((result.documents.current as { version: number }).version, 1);
  });

  it("gives array elements one timestamp each", () => {
    const result = update(undefined, { reported: { list: [1, 2] } }, 5);
    assert.deepEqual(result.record.metadata.reported, { list: [{ timestamp: 5 }, { timestamp: 5 }] });
  });

  it("publishes no delta for a reported-only update, and none once reported matches desired", () => {
    const first = update(undefined, { desired: { interval: 1000 } });
    const second = update(first.record, { reported: { interval: 1000 } });
    assert.equal(second.delta, undefined);
    assert.equal(second.record.version, 2);
    assert.equal(getDocument(second.record, 7).state && (getDocument(second.record, 7).state as Record<string, unknown>).delta, undefined);
    const third = update(second.record, { desired: { interval: 1000 } });
    assert.equal(third.delta, undefined);
  });

  it("get shows desired, reported, delta, metadata, version and timestamp", () => {
    const first = update(undefined, { desired: { a: 1, b: 2 }, reported: { a: 1 } }, 10);
    assert.deepEqual(getDocument(first.record, 11, "tok"), {
      state: { desired: { a: 1, b: 2 }, reported: { a: 1 }, delta: { b: 2 } },
      metadata: { desired: { a: { timestamp: 10 }, b: { timestamp: 10 } }, reported: { a: { timestamp: 10 } } },
      version: 1, timestamp: 11, clientToken: "tok",
    });
  });

  it("documents carry the previous and current state and versions", () => {
    const first = update(undefined, { reported: { a: 1 } }, 10);
    const second = update(first.record, { reported: { a: 2 } }, 20);
    assert.deepEqual(second.documents, {
      previous: { state: { reported: { a: 1 } }, metadata: { reported: { a: { timestamp: 10 } } }, version: 1 },
      current: { state: { reported: { a: 2 } }, metadata: { reported: { a: { timestamp: 20 } } }, version: 2 },
      timestamp: 20,
    });
  });

  it("refuses an update naming another version with 409 Version conflict, accepts the current one", () => {
    const first = update(undefined, { reported: { a: 1 } });
    assert.deepEqual(applyUpdate(first.record, { reported: { a: 2 }, version: 0 }, 1), { ok: false, error: { code: 409, message: "Version conflict" } });
    assert.equal(update(first.record, { reported: { a: 2 }, version: 1 }).record.version, 2);
  });

  it("continues a deleted shadow's version within 48 hours and starts again after", () => {
    const first = update(undefined, { reported: { a: 1 } }, 0);
    const dead = tombstone(update(first.record, { reported: { a: 2 } }, 0).record, 0);
    assert.equal(update(dead, { reported: { a: 3 } }, 48 * 3600).record.version, 3);
    assert.equal(update(dead, { reported: { a: 3 } }, 48 * 3600 + 1).record.version, 1);
    assert.equal(update(dead, { reported: { a: 3 } }, 1).documents.previous, null);
  });

  it("deletes a whole section with null", () => {
    const first = update(undefined, { desired: { a: 1 }, reported: { b: 2 } });
    const second = update(first.record, { desired: null });
    assert.deepEqual(second.record.state, { reported: { b: 2 } });
    assert.deepEqual(second.accepted.state, { desired: null });
  });

  it("rejects each malformed request with AWS's 400 message", () => {
    assert.deepEqual(rejected("{nope"), { code: 400, message: "Invalid JSON" });
    assert.deepEqual(rejected([1]), { code: 400, message: "Invalid JSON" });
    assert.deepEqual(rejected({ clientToken: "x" }), { code: 400, message: "Missing required node: state" });
    assert.deepEqual(rejected({ state: 1 }), { code: 400, message: "State node must be an object" });
    assert.deepEqual(rejected({ state: { desired: [1] } }), { code: 400, message: "Desired node must be an object" });
    assert.deepEqual(rejected({ state: { reported: "x" } }), { code: 400, message: "Reported node must be an object" });
    assert.deepEqual(rejected({ state: { reported: {} }, version: "3" }), { code: 400, message: "Invalid version" });
    assert.deepEqual(rejected({ state: { reported: {} }, version: 1.5 }), { code: 400, message: "Invalid version" });
    assert.deepEqual(rejected({ state: { reported: {} }, clientToken: "x".repeat(65) }), { code: 400, message: "Invalid clientToken" });
    assert.deepEqual(rejected({ state: { delta: {} } }), { code: 400, message: "State contains an invalid node" });
  });

  it("accepts six levels of nesting below desired and refuses seven", () => {
    const nest = (levels: number): unknown => (levels === 1 ? { leaf: 1 } : { n: nest(levels - 1) });
    assert.equal(depth(nest(6) as never), 6);
    assert.equal(parseUpdate(bytes({ state: { desired: nest(6) } })).ok, true);
    assert.deepEqual(rejected({ state: { desired: nest(7) } }), { code: 400, message: "JSON contains too many levels of nesting; maximum is 6" });
  });

  it("refuses a state over 8 KB with 413, whether sent at once or grown by merging", () => {
    assert.deepEqual(rejected({ state: { reported: { big: "x".repeat(8200) } } }), { code: 413, message: "The payload exceeds the maximum size allowed" });
    const first = update(undefined, { reported: { a: "x".repeat(5000) } });
    const grown = applyUpdate(first.record, { desired: { b: "y".repeat(4000) } }, 1);
    assert.deepEqual(grown, { ok: false, error: { code: 413, message: "The payload exceeds the maximum size allowed" } });
  });

  it("refuses bytes that are not UTF-8 with 415", () => {
    const parsed = parseUpdate(new Uint8Array([0x7b, 0xff, 0x7d]));
    assert.deepEqual(parsed, { ok: false, error: { code: 415, message: "Unsupported documented encoding; supported encoding is UTF-8" } });
  });

  it("reads get and delete requests: empty, or JSON with a clientToken", () => {
    assert.deepEqual(parseTokenRequest(new Uint8Array(0)), { ok: true, value: {} });
    assert.deepEqual(parseTokenRequest(bytes({ clientToken: "abc" })), { ok: true, value: { clientToken: "abc" } });
    assert.equal(parseTokenRequest(bytes("{")).ok, false);
  });
});
