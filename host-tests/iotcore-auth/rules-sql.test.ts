import assert from "node:assert/strict";
import { matchesConditions, parseSql, topicMatches } from "../../host/iotcore/services/iot/rules/sql.js";

describe("topic rule SQL subset", () => {
  it("parses the JITR walkthrough's statement across lines with a double-quoted value", () => {
    const parsed = parseSql(`SELECT *\nFROM '$aws/events/certificates/registered/abc123'\nWHERE certificateStatus = "PENDING_ACTIVATION"`);
    assert.deepEqual(parsed, { ok: true, value: { topicFilter: "$aws/events/certificates/registered/abc123", conditions: [{ path: ["certificateStatus"], equal: true, value: "PENDING_ACTIVATION" }] } });
  });

  it("evaluates AND-joined conditions on nested fields, numbers, booleans and <>", () => {
    const parsed = parseSql("select * from 'a/+/c' where device.kind = 'sensor' AND level = 3 and ok = true AND state <> \"off\"");
    assert.equal(parsed.ok, true);
    const conditions = parsed.ok ? parsed.value.conditions : [];
    assert.equal(matchesConditions(conditions, { device: { kind: "sensor" }, level: 3, ok: true, state: "on" }), true);
    assert.equal(matchesConditions(conditions, { device: { kind: "sensor" }, level: 3, ok: true, state: "off" }), false);
    assert.equal(matchesConditions(conditions, { device: { kind: "sensor" }, level: "3", ok: true, state: "on" }), false);
    assert.equal(matchesConditions(conditions, { level: 3, ok: true }), false);
  });

  it("refuses statements outside the subset with a sql-parse failure", () => {
    for (const sql of ["SELECT temp FROM 'a'", "SELECT * FROM a", "SELECT * FROM 'a' WHERE temp > 3", "DELETE FROM 'a'"]) {
      const parsed = parseSql(sql);
      assert.equal(!parsed.ok && parsed.failure.code, "sql-parse", sql);
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
