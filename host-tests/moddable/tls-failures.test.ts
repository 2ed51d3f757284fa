import assert from "node:assert/strict";
import { endingFailure, type EndingFacts } from "../../firmware/platform/moddable/tls-failures.js";
import { alertName } from "../../firmware/platform/tls-alerts.js";

const base: EndingFacts = { where: "127.0.0.1:8883", serverName: "x-ats.iot.us-east-1.amazonaws.com", tcpConnected: true, handshakeDone: false, message: -2 };

describe("Moddable TLS endings as transport failures", () => {
  it("names a server alert during the handshake by its RFC name and does not retry it", () => {
    const f = endingFailure({ ...base, alert: 42 });
    assert.equal(f?.code, "tls-alert-bad-certificate");
    assert.equal(f?.retryable, false);
    assert.equal(endingFailure({ ...base, alert: 120 })?.code, "tls-alert-no-application-protocol");
    assert.equal(alertName(250), "unknown");
    assert.equal(endingFailure({ ...base, alert: 250 })?.code, "tls-alert-unknown");
    assert.match(endingFailure({ ...base, alert: 250 })?.message ?? "", /TLS alert "250"/);
  });

  it("tells an untrusted server from a hostname mismatch", () => {
    assert.equal(endingFailure({ ...base, rejection: "untrusted" })?.code, "tls-untrusted-server");
    assert.equal(endingFailure({ ...base, rejection: "hostname" })?.code, "tls-hostname-mismatch");
  });

  it("reports a drop during the handshake as a retryable reset, as AWS does while provisioning", () => {
    const f = endingFailure({ ...base, message: -1 });
    assert.equal(f?.code, "tls-handshake-reset");
    assert.equal(f?.retryable, true);
  });

  it("reports no TCP connection as connection-refused and a deadline as connection-timeout", () => {
    assert.equal(endingFailure({ ...base, tcpConnected: false })?.code, "connection-refused");
    assert.equal(endingFailure({ ...base, timedOut: true })?.code, "connection-timeout");
  });

  it("after the handshake: close_notify is orderly, a bare close or error are retryable", () => {
    const open = { ...base, handshakeDone: true };
    assert.equal(endingFailure({ ...open, message: -1, alert: 0 }), undefined);
    assert.equal(endingFailure({ ...open, message: -1 })?.code, "connection-closed");
    assert.equal(endingFailure({ ...open, message: -2 })?.code, "connection-reset");
  });
});
