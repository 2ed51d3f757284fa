// One vocabulary of transport failures: every code the Moddable, Node and XS bindings can
// report is a member of the seam's TransportFailureCode, and classify() has a fate for each.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Failure } from "../firmware/platform/failure.js";
import type { TransportFailure, TransportFailureCode } from "../firmware/platform/seam.js";
import { TLS_ALERTS } from "../firmware/platform/tls-alerts.js";
import { endingFailure, setupFailure, type EndingFacts } from "../firmware/platform/moddable/tls-failures.js";
import { classify } from "../firmware/provisioning/policy.js";
import { tlsFailure } from "../host/runtime/node/tls-failure.js";
import { openNodeTlsTransport } from "../host/runtime/node/tls-transport.js";
import { createHostPlatform } from "../host/runtime/xs/host-platform.js";

/** The union's codes other than the TLS alerts (the compiler holds this table to it). */
const CODES: Record<Exclude<TransportFailureCode, `tls-alert-${string}`>, true> = {
  "tls-untrusted-server": true, "tls-hostname-mismatch": true, "tls-alpn-refused": true, "tls-handshake-reset": true,
  "tls-setup-failed": true, "connection-refused": true, "connection-timeout": true, "dns-failure": true,
  "connection-reset": true, "connection-closed": true,
};
/** The union, enumerated: those codes, and one per TLS alert name. */
const UNION = new Set<string>([...Object.keys(CODES), ...Object.keys(TLS_ALERTS).map((name) => "tls-alert-" + name), "tls-alert-unknown"]);

function assertMembers(binding: string, codes: Set<string>): void {
  const strangers = [...codes].filter((code) => !UNION.has(code));
  assert.deepEqual(strangers, [], `${binding} emits codes outside TransportFailureCode`);
}

/** Closes with the first failure a transport reports (or undefined for an orderly close). */
function outcome(open: (events: { onOpen(): void; onData(): void; onClose(f?: TransportFailure): void }) => unknown): Promise<Failure | undefined> {
  return new Promise((resolve) => open({ onOpen() {}, onData() {}, onClose: resolve }));
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("transport failure codes", () => {
  it("the Moddable binding reports only members of the union, for every ending it can see", () => {
    const codes = new Set<string>([setupFailure("h:1", "bad").code]);
    const alerts = [undefined, ...Array.from({ length: 256 }, (_, i) => i)];
    for (const tcpConnected of [false, true]) for (const handshakeDone of [false, true]) for (const message of [-1, -2])
      for (const alert of alerts) for (const rejection of [undefined, "untrusted", "hostname"] as const) for (const timedOut of [undefined, true]) {
        const facts: EndingFacts = { where: "h:1", serverName: "h", tcpConnected, handshakeDone, message, alert, rejection, timedOut };
        const f = endingFailure(facts);
        if (f) codes.add(f.code);
      }
    assertMembers("Moddable", codes);
    assert.ok(codes.has("tls-alert-unknown") && codes.has("tls-setup-failed") && codes.has("connection-timeout"));
  });

  it("the Node binding (and so XS, which it serves) reports only members of the union", async () => {
    const errors = [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID",
      "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
      "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL", "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", "ERR_SSL_TLSV1_ALERT_SOMETHING_NEW",
      "ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", undefined,
    ];
    const codes = new Set<string>();
    for (const code of errors) for (const opened of [false, true]) {
      const error = Object.assign(new Error(code ?? "odd"), { code }) as NodeJS.ErrnoException;
      codes.add(tlsFailure(error, opened, "h:1").code);
    }
    assert.ok(codes.has("tls-alert-unknown"), "an alert outside the RFCs' names");
    const dir = mkdtempSync(join(tmpdir(), "codes-"));
    try {
      const port = await closedPort();
      const refused = await outcome((events) => openNodeTlsTransport({ host: "127.0.0.1", port, trustedCa: [] }, events));
      const setup = await outcome((events) => openNodeTlsTransport({ host: "127.0.0.1", port, trustedCa: [], clientKey: new Uint8Array([1, 2, 3]), clientCertificates: [new Uint8Array([4])] }, events));
      const xs = createHostPlatform({ storageDir: dir, log: () => {} });
      const viaXsHost = await outcome((events) => xs.openTransport({ host: "127.0.0.1", port, trustedCa: [] }, events));
      for (const f of [refused, setup, viaXsHost]) codes.add(f?.code ?? "none");
      assert.equal(refused?.code, "connection-refused");
      assert.equal(setup?.code, "tls-setup-failed");
      assert.equal(viaXsHost?.code, "connection-refused");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assertMembers("Node", codes);
  });

  it("classify decides each code of the union by the code: permanent, provisioning or network", () => {
    const fate = (code: string, provisioned = false) => classify({ code, message: "", retryable: true }, provisioned, true);
    for (const code of UNION) assert.ok(["permanent", "provisioning", "network"].includes(fate(code)), code);
    // The retryable flag does not turn a permanent code into a retry.
    assert.equal(fate("tls-setup-failed"), "permanent");
    assert.equal(fate("tls-untrusted-server"), "permanent");
    assert.equal(fate("tls-alert-handshake-failure"), "permanent");
    assert.equal(fate("tls-alert-bad-certificate"), "provisioning");
    assert.equal(fate("tls-alert-bad-certificate", true), "permanent");
    assert.equal(fate("tls-handshake-reset"), "provisioning");
    assert.equal(fate("tls-handshake-reset", true), "network");
    assert.equal(fate("connection-refused"), "network");
  });
});
