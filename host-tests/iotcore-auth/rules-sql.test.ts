import assert from "node:assert/strict";
import { compileSql, substitute, topicMatches, type SqlContext } from "../../host/iotcore/services/iot/rules/sql.js";

const context = (over: Partial<SqlContext> = {}): SqlContext => ({
  topic: "topic/subtopic", clientId: "dev-1", principal: "cert-abc", now: 1_700_000_000_000, newUuid: () => "00000000-0000-4000-8000-000000000000",
  payloadBytes: Buffer.from("{}"), ...over,
});

function compiled(sql: string) {
  const result = compileSql(sql);
  assert.equal(result.ok, true, result.ok ? "" : result.failure.message);
  return result.ok ? result.value : undefined as never;
}

describe("topic rule SQL (AWS IoT SQL reference, common cases)", () => {
  it("runs the JITR walkthrough's statement across lines with a double-quoted value", () => {
    const sql = compiled(`SELECT *\nFROM '$aws/events/certificates/registered/abc123'\nWHERE certificateStatus = "PENDING_ACTIVATION"`);
    assert.equal(sql.topicFilter, "$aws/events/certificates/registered/abc123");
    assert.deepEqual(sql.run({ certificateStatus: "PENDING_ACTIVATION", certificateId: "c1" }, context()), { certificateStatus: "PENDING_ACTIVATION", certificateId: "c1" });
    assert.equal(sql.run({ certificateStatus: "ACTIVE" }, context()), undefined);
  });

  it("runs the reference's example: SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50", () => {
    const sql = compiled("SELECT color AS rgb FROM 'topic/subtopic' WHERE temperature > 50");
    assert.deepEqual(sql.run({ color: "red", temperature: 60 }, context()), { rgb: "red" });
    assert.equal(sql.run({ color: "red", temperature: 40 }, context()), undefined);
    assert.equal(sql.run({ color: "red" }, context()), undefined, "a missing field is Undefined, not true");
  });

  it("selects nested fields, arithmetic and the functions topic(), clientid(), timestamp(), principal(), newuuid(), encode()", () => {
    const sql = compiled("SELECT state.reported.temp * 9 / 5 + 32 AS fahrenheit, device.id, topic(2) AS leaf, topic(), clientid(), timestamp() AS at, principal(), newuuid() AS id, encode(*, 'base64') AS raw FROM 'topic/+' WHERE (state.reported.temp >= 20 AND NOT muted) OR force = true");
    const bytes = Buffer.from('{"state":{"reported":{"temp":25}},"device":{"id":"d7"},"muted":false}');
    const out = sql.run(JSON.parse(bytes.toString()), context({ payloadBytes: bytes }));
    assert.deepEqual(out, {
      fahrenheit: 77, id: "00000000-0000-4000-8000-000000000000", leaf: "subtopic", topic: "topic/subtopic", clientid: "dev-1",
      at: 1_700_000_000_000, principal: "cert-abc", raw: bytes.toString("base64"),
    });
    assert.equal(sql.run({ state: { reported: { temp: 10 } }, muted: false }, context()), undefined);
    assert.notEqual(sql.run({ state: { reported: { temp: 10 } }, force: true }, context()), undefined);
  });

  it("fills substitution templates from the same expressions", () => {
    const sql = compiled("SELECT * FROM 'sensors/+/data'");
    const topic = substitute("alerts/${topic(2)}/${clientid()}/${level}", sql, { level: 3 }, context({ topic: "sensors/kitchen/data" }));
    assert.deepEqual(topic, { ok: true, value: "alerts/kitchen/dev-1/3" });
  });

  it("refuses SQL that is not SQL as sql-parse, and valid SQL it does not run as sql-unsupported, never as the user's parse error", () => {
    for (const sql of ["SELECT * FROM a", "DELETE FROM 'a'", "SELECT FROM 'a'", "SELECT * FROM 'a' WHERE"]) {
      const result = compileSql(sql);
      assert.equal(!result.ok && result.failure.code, "sql-parse", sql);
    }
    for (const sql of ["SELECT upper(name) FROM 'a'", "SELECT * FROM 'a' WHERE get_thing_shadow(x) = 1", "SELECT items[0] FROM 'a'"]) {
      const result = compileSql(sql);
      assert.equal(!result.ok && result.failure.code, "sql-unsupported", sql);
      assert.match(!result.ok ? result.failure.message : "", /this stand-in does not run/);
    }
  });

  it("matches MQTT topic filters with + and #", () => {
    assert.equal(topicMatches("$aws/events/certificates/registered/+", "$aws/events/certificates/registered/ca1"), true);
    assert.equal(topicMatches("a/#", "a/b/c"), true);
    assert.equal(topicMatches("a/+", "a/b/c"), false);
    assert.equal(topicMatches("a/b", "a/b"), true);
    assert.equal(topicMatches("a/b", "a"), false);
  });
});
