import assert from "node:assert/strict";
import { completeConfig, defaultConfig, loadConfig, parseOverrides } from "../../firmware/config/config.js";

function loaded(manifest: unknown, overrides?: unknown) {
  const result = loadConfig(manifest, overrides);
  if (!result.ok) assert.fail(result.failure.message);
  return result.value;
}

function failed(manifest: unknown, overrides?: unknown): string {
  const result = loadConfig(manifest, overrides);
  assert.equal(result.ok, false);
  if (result.ok) throw new Error("unreachable");
  assert.equal(result.failure.code, "config-invalid");
  return result.failure.message;
}

describe("device config", () => {
  it("uses the defaults when the manifest says nothing", () => {
    assert.deepEqual(loaded({}).config, { ...defaultConfig, connection: {} });
  });

  it("lets Preference override the manifest, field by field", () => {
    const { config } = loaded({ telemetryIntervalMs: 2000, mode: "mtls-alpn" }, { telemetryIntervalMs: 3000 });
    assert.equal(config.telemetryIntervalMs, 3000);
    assert.equal(config.mode, "mtls-alpn");
  });

  it("merges the connection settings of both layers", () => {
    const { config } = loaded({ connection: { authorizerName: "a", token: "t" } }, { connection: { token: "u" } });
    assert.deepEqual(config.connection, { authorizerName: "a", token: "u" });
  });

  it("ignores and lists manifest keys that belong to Moddable, not to us", () => {
    assert.deepEqual(loaded({ ssid: "home", sntp: "pool.ntp.org" }).ignored, ["ssid", "sntp"]);
  });

  it("names the field, the value and the source of an out-of-range number", () => {
    const message = failed({ port: 70000 });
    assert.match(message, /"port" = 70000 \(from the manifest\)/);
    assert.match(message, /0 to 65535/);
  });

  it("holds the keep-alive to 30-1200 whole seconds (the MQTT client takes it as given)", () => {
    for (const keepAliveSeconds of [29, 1201, 60.5, -1, 65536]) assert.match(failed({ keepAliveSeconds }), /"keepAliveSeconds" = .* must be an integer from 30 to 1200/);
    assert.equal(loaded({ keepAliveSeconds: 30 }).config.keepAliveSeconds, 30);
  });

  it("names a wrong type coming from Preference", () => {
    assert.match(failed({}, { telemetryIntervalMs: "fast" }), /"telemetryIntervalMs" = "fast" \(from the preference\).*integer/);
  });

  it("refuses an unknown key in Preference, where only our fields live", () => {
    assert.match(failed({}, { telemetryIntervalMS: 1000 }), /"telemetryIntervalMS".*not a config field/);
  });

  it("names endpoint, port, serverName and connection when they are wrong", () => {
    assert.match(failed({ endpoint: "bad host/name" }), /"endpoint" = "bad host\/name" .*host name/);
    assert.match(failed({ port: "443" }), /"port" = "443" .*integer/);
    assert.match(failed({ serverName: "a..b" }), /"serverName" = "a..b" .*host name/);
    assert.match(failed({}, { connection: [] }), /"connection" = an array \(from the preference\) must be an object/);
  });

  it("refuses a Preference key named like an Object property (toString, __proto__) instead of throwing", () => {
    for (const name of ["toString", "constructor", "__proto__"]) {
      assert.match(failed({}, JSON.parse(`{"${name}": "x"}`)), new RegExp(`"${name}" = "x" \\(from the preference\\) is not a config field`));
    }
  });

  it("refuses CONNECT spacing below AWS's one per second", () => {
    assert.match(failed({ connectSpacingMs: 200 }), /"connectSpacingMs" = 200/);
  });

  it("refuses a drain rate at or above AWS's 100 publishes per second", () => {
    assert.match(failed({ drainPerSecond: 100 }), /"drainPerSecond" = 100/);
  });

  it("refuses a backoff cap below the base", () => {
    assert.match(failed({ backoffBaseMs: 5000, backoffCapMs: 1000 }), /"backoffCapMs" = 1000 is below "backoffBaseMs" = 5000/);
  });

  it("refuses a client id that starts with $", () => {
    assert.match(failed({ clientId: "$aws" }), /"clientId"/);
  });

  it("refuses a manifest config that is not an object", () => {
    assert.match(failed([1, 2]), /must be a JSON object/);
  });

  it("reports Preference text that is not JSON without echoing it", () => {
    const result = parseOverrides("{secret");
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.failure.code, "config-invalid");
      assert.doesNotMatch(result.failure.message, /secret/);
    }
  });

  it("reads Preference overrides stored as bytes", () => {
    const result = parseOverrides(new TextEncoder().encode('{"port":8443}'));
    assert.deepEqual(result, { ok: true, value: { port: 8443 } });
  });

  it("fills thing name and endpoint from the credentials and derives client id, topics and server name", () => {
    const result = completeConfig(loaded({}).config, { thingName: "dev-1", endpoint: "abc-ats.iot.us-east-1.amazonaws.com" });
    assert.ok(result.ok);
    if (result.ok) {
      assert.equal(result.value.clientId, "dev-1");
      assert.equal(result.value.topicPrefix, "dev-1");
      assert.equal(result.value.serverName, "abc-ats.iot.us-east-1.amazonaws.com");
    }
  });

  it("says where to set a thing name when neither config nor credentials have one", () => {
    const result = completeConfig(loaded({ endpoint: "e.example" }).config, {});
    assert.ok(!result.ok && /"thingName" is empty/.test(result.failure.message));
  });

  it("says where to set the endpoint, and refuses a bad one from the credentials' settings", () => {
    const empty = completeConfig(loaded({}).config, { thingName: "dev-1" });
    assert.ok(!empty.ok && /"endpoint" is empty: set it in the config or the credentials' settings/.test(empty.failure.message));
    const bad = completeConfig(loaded({}).config, { thingName: "dev-1", endpoint: "bad host/name" });
    assert.ok(!bad.ok && /"endpoint" must be a host name/.test(bad.failure.message));
  });
});
