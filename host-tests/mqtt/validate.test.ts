import assert from "node:assert/strict";
import { checkClientId, checkPayload, checkTopic } from "../../firmware/mqtt/validate.js";

const code = (r: unknown) => (r instanceof Uint8Array || r === undefined ? "ok" : (r as { code: string }).code);

describe("AWS IoT limits", () => {
  it("accepts client ids of 1 to 128 bytes and refuses empty, longer or $-prefixed ones", () => {
    assert.equal(code(checkClientId("a".repeat(128))), "ok");
    assert.equal(code(checkClientId("é".repeat(64))), "ok");
    assert.equal(code(checkClientId("é".repeat(65))), "mqtt-invalid-client-id");
    assert.equal(code(checkClientId("a".repeat(129))), "mqtt-invalid-client-id");
    assert.equal(code(checkClientId("")), "mqtt-invalid-client-id");
    assert.equal(code(checkClientId("$aws")), "mqtt-invalid-client-id");
  });

  it("returns a publish topic's UTF-8 bytes and counts its length in bytes, not characters", () => {
    assert.deepEqual([...(checkTopic("a/ü", false) as Uint8Array)], [0x61, 0x2f, 0xc3, 0xbc]);
    assert.equal(code(checkTopic("t".repeat(256), false)), "ok");
    assert.equal(code(checkTopic("ü".repeat(129), false)), "mqtt-invalid-topic");
    assert.equal(code(checkTopic("", false)), "mqtt-invalid-topic");
  });

  it("allows at most 7 slashes in a topic", () => {
    assert.equal(code(checkTopic("a/b/c/d/e/f/g/h", false)), "ok");
    const r = checkTopic("a/b/c/d/e/f/g/h/i", false);
    assert.equal(code(r), "mqtt-invalid-topic");
    assert.match((r as { message: string }).message, /7 slashes/);
  });

  it("refuses wildcards in a publish topic and misplaced wildcards in a filter", () => {
    assert.equal(code(checkTopic("a/+/c", false)), "mqtt-invalid-topic");
    assert.equal(code(checkTopic("a/#", false)), "mqtt-invalid-topic");
    assert.equal(code(checkTopic("a/+/c", true)), "ok");
    assert.equal(code(checkTopic("a/#", true)), "ok");
    assert.equal(code(checkTopic("#", true)), "ok");
    assert.equal(code(checkTopic("a/#/c", true)), "mqtt-invalid-topic");
    assert.equal(code(checkTopic("a/b+", true)), "mqtt-invalid-topic");
    assert.equal(code(checkTopic("a/\u0000", true)), "mqtt-invalid-topic");
  });

  it("allows payloads up to 128 KB", () => {
    assert.equal(code(checkPayload(new Uint8Array(131072))), "ok");
    assert.equal(code(checkPayload(new Uint8Array(131073))), "mqtt-payload-too-large");
  });
});
