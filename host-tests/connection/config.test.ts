import assert from "node:assert/strict";
import { validateConnectionConfig, type ConnectionFields } from "../../firmware/connection/config.js";
import { modes } from "../../firmware/connection/mode.js";
import { customAuthUsername, customAuthQuery, customAuthPairs } from "../../firmware/connection/authorizer.js";

const endpoint = "abc123-ats.iot.us-east-1.amazonaws.com";

function valid(fields: ConnectionFields) {
  const r = validateConnectionConfig(fields, modes);
  assert.ok(r.ok, r.ok ? "" : r.failure.message);
  return r.value;
}

function invalid(fields: ConnectionFields, field: string) {
  const r = validateConnectionConfig(fields, modes);
  assert.ok(!r.ok, "expected a failure");
  assert.equal(r.failure.code, "config-invalid");
  assert.ok(r.failure.message.includes(`"${field}"`), `message names ${field}: ${r.failure.message}`);
  return r.failure.message;
}

describe("connection config validation", () => {
  it("defaults the port per mode and the server name to the endpoint", () => {
    assert.equal(valid({ mode: "mtls", endpoint }).port, 8883);
    assert.equal(valid({ mode: "mtls-alpn", endpoint, port: 0 }).port, 443);
    const c = valid({ mode: "mtls", endpoint, port: 9000, serverName: "iot.example.com" });
    assert.equal(c.port, 9000);
    assert.equal(c.serverName, "iot.example.com");
    assert.equal(valid({ mode: "mtls", endpoint, serverName: "" }).serverName, endpoint);
  });

  it("defaults the port of each mode: 8883 for mtls, 443 for the others", () => {
    const ports = Object.fromEntries(modes.map((m) => [m.name, m.port]));
    assert.deepEqual(ports, { mtls: 8883, "mtls-alpn": 443, "custom-auth": 443, "wss-custom-auth": 443, "wss-sigv4": 443 });
    assert.equal(valid({ mode: "custom-auth", endpoint, connection: { authorizerName: "a" } }).port, 443);
  });

  it("refuses a mode the build does not carry and lists those it does", () => {
    const message = invalid({ mode: "mqtt-plain", endpoint }, "mode");
    assert.match(message, /not a mode this build carries \(mtls, mtls-alpn, custom-auth, wss-custom-auth, wss-sigv4\)/);
    const r = validateConnectionConfig({ mode: "wss-sigv4", endpoint }, modes.filter((m) => m.name === "mtls"));
    assert.ok(!r.ok && /"wss-sigv4" is not a mode this build carries \(mtls\)/.test(r.failure.message));
  });

  it("names the mode when it is wrong (endpoint, port, serverName: see the device config's tests)", () => {
    invalid({ mode: "tls", endpoint }, "mode");
  });

  it("refuses a setting of another mode, naming the mode's own", () => {
    const message = invalid({ mode: "wss-custom-auth", endpoint, connection: { authorizerName: "a", username: "u" } }, "connection.username");
    assert.match(message, /is not a wss-custom-auth setting \(known: authorizerName, tokenKeyName, token, tokenSignature, authInQuery\)/);
    invalid({ mode: "mtls", endpoint, connection: { token: "t" } }, "connection.token");
  });

  it("names an unknown or mistyped connection setting with its dotted name", () => {
    invalid({ mode: "custom-auth", endpoint, connection: { authoriserName: "x" } }, "connection.authoriserName");
    invalid({ mode: "custom-auth", endpoint, connection: { authorizerName: 5 } }, "connection.authorizerName");
    invalid({ mode: "custom-auth", endpoint, connection: { authorizerName: "a\r\nX-Evil: 1" } }, "connection.authorizerName");
    invalid({ mode: "wss-custom-auth", endpoint, connection: { authorizerName: "a", authInQuery: "yes" } }, "connection.authInQuery");
  });

  it("refuses a setting named like an Object property (toString, __proto__) instead of throwing", () => {
    for (const name of ["toString", "constructor", "__proto__"]) {
      const message = invalid({ mode: "mtls", endpoint, connection: JSON.parse(`{"${name}": "x"}`) }, `connection.${name}`);
      assert.match(message, /is not a mtls setting/);
    }
  });

  it("requires the token key name with a token, and the token with a signature", () => {
    invalid({ mode: "custom-auth", endpoint, connection: { authorizerName: "a", token: "t" } }, "connection.tokenKeyName");
    invalid({ mode: "custom-auth", endpoint, connection: { authorizerName: "a", tokenSignature: "c2ln" } }, "connection.token");
    invalid({ mode: "custom-auth", endpoint, connection: { authorizerName: "a", tokenKeyName: "my token", token: "t" } }, "connection.tokenKeyName");
    invalid({ mode: "custom-auth", endpoint, connection: {} }, "connection.authorizerName");
  });

  it("never shows a secret's value in the error, even when it is the wrong field", () => {
    const message = invalid({ mode: "custom-auth", endpoint, connection: { authorizerName: "a", tokenKeyName: "k", token: "top-secret-token", tokenSignature: "not base64!" } }, "connection.tokenSignature");
    assert.ok(!message.includes("not base64!"));
    assert.ok(!message.includes("top-secret-token"));
  });

  it("derives the SigV4 region from the endpoint or the identity pool and checks the credential source", () => {
    const fixed = valid({ mode: "wss-sigv4", endpoint, connection: { accessKeyId: "AK", secretAccessKey: "SK" } });
    assert.ok(fixed.mode === "wss-sigv4");
    assert.equal(fixed.region, "us-east-1");
    assert.deepEqual(fixed.credentials, { accessKeyId: "AK", secretAccessKey: "SK", sessionToken: undefined, expiration: undefined });
    const pooled = valid({ mode: "wss-sigv4", endpoint: "iot.example.com", connection: { identityPoolId: "eu-west-1:0f6b1b3c-1111-2222-3333-444455556666" } });
    assert.ok(pooled.mode === "wss-sigv4");
    assert.equal(pooled.region, "eu-west-1");
    invalid({ mode: "wss-sigv4", endpoint: "127.0.0.1", connection: { accessKeyId: "AK", secretAccessKey: "SK" } }, "connection.region");
    invalid({ mode: "wss-sigv4", endpoint, connection: {} }, "connection.identityPoolId");
    invalid({ mode: "wss-sigv4", endpoint, connection: { accessKeyId: "AK" } }, "connection.secretAccessKey");
    invalid({ mode: "wss-sigv4", endpoint, connection: { accessKeyId: "AK", secretAccessKey: "SK", identityPoolId: "us-east-1:ab-cd" } }, "connection.identityPoolId");
    invalid({ mode: "wss-sigv4", endpoint, connection: { identityPoolId: "pool" } }, "connection.identityPoolId");
    invalid({ mode: "wss-sigv4", endpoint, connection: { accessKeyId: "AK", secretAccessKey: "SK", presignExpiresSeconds: 700000 } }, "connection.presignExpiresSeconds");
  });

  it("accepts the device config's shape with unrelated fields beside the connection ones", () => {
    const device = { mode: "wss-custom-auth", endpoint, port: 0, serverName: "", connection: { authorizerName: "auth", tokenKeyName: "my-token", token: "sample-token" }, thingName: "t" };
    const config = valid(device);
    assert.ok(config.mode === "wss-custom-auth");
    assert.equal(config.authorizerName, "auth");
  });
});

describe("custom authorizer values", () => {
  const signature = "ab+c/d==";

  it("builds the MQTT username with the signature URL-encoded, as AWS expects", () => {
    const username = customAuthUsername({ username: "device-1", authorizerName: "my-auth", tokenKeyName: "my-token", token: "sample token&x", tokenSignature: signature });
    assert.equal(username, "device-1?x-amz-customauthorizer-name=my-auth&x-amz-customauthorizer-signature=ab%2Bc%2Fd%3D%3D&my-token=sample%20token%26x");
    const params = new URLSearchParams(username.slice(username.indexOf("?") + 1));
    assert.equal(params.get("x-amz-customauthorizer-signature"), signature);
    assert.equal(params.get("my-token"), "sample token&x");
  });

  it("leaves out the signature for an authorizer with signing disabled, and the query when nothing is set", () => {
    assert.equal(customAuthUsername({ authorizerName: "test" }), "?x-amz-customauthorizer-name=test");
    assert.equal(customAuthUsername({ username: "plain" }), "plain");
    assert.equal(customAuthQuery({ tokenKeyName: "k", token: "v" }), "k=v");
  });

  it("gives the raw values for WebSocket headers, in AWS's order", () => {
    assert.deepEqual(customAuthPairs({ authorizerName: "a", tokenKeyName: "my-token", token: "t", tokenSignature: signature }), [
      ["x-amz-customauthorizer-name", "a"],
      ["x-amz-customauthorizer-signature", signature],
      ["my-token", "t"],
    ]);
  });
});
