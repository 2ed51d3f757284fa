// The Node binding of the transport seam against a real mosquitto with required client
// certificates: what opens, and which seam failure code each refusal becomes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Failure } from "../../firmware/platform/failure.js";
import type { TlsOptions } from "../../firmware/platform/seam.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { openNodeTlsTransport } from "../../host/runtime/node/tls-transport.js";
import { startMosquitto, type Mosquitto } from "../../host/peers/mosquitto.js";
import { brokerTls, deviceTls, testPki, type TestPki } from "./tls-fixture.js";

interface Outcome { opened: boolean; alpn?: string; data: number; failure?: Failure }

/** Opens, waits (bounded) for the close and reports what happened; `afterOpen` may write. */
function attempt(options: TlsOptions, afterOpen?: (write: (b: Uint8Array) => void, close: () => void) => void): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const outcome: Outcome = { opened: false, data: 0 };
    const timer = setTimeout(() => reject(new Error("no close within 10 s")), 10_000);
    const transport = openNodeTlsTransport(options, {
      onOpen(info) {
        outcome.opened = true;
        outcome.alpn = info.alpn;
        if (afterOpen) afterOpen((b) => transport.write(b), () => transport.close());
        else transport.close();
      },
      onData(bytes) { outcome.data += bytes.length; },
      onClose(f) {
        clearTimeout(timer);
        outcome.failure = f;
        resolve(outcome);
      },
    });
  });
}

describe("Node TLS transport against mosquitto with required client certificates", function () {
  let pki: TestPki;
  let broker: Mosquitto;

  before(async function () {
    pki = await testPki();
    broker = await startMosquitto(brokerTls(pki));
  });
  after(async () => { await broker?.stop(); });

  it("opens with a client certificate chain and carries bytes both ways", async () => {
    const connect = Uint8Array.of(0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 1, 0x61);
    const outcome = await attempt(deviceTls(pki, broker.port), (write, close) => {
      write(connect);
      setTimeout(close, 300);
    });
    assert.equal(outcome.opened, true);
    assert.equal(outcome.data, 4, "a CONNACK came back");
    assert.equal(outcome.failure, undefined);
  });

  it("reports tls-untrusted-server when the server chain does not lead to a trusted CA", async () => {
    const outcome = await attempt(deviceTls(pki, broker.port, { trustedCa: [pki.strangerCa.certDer] }));
    assert.equal(outcome.opened, false);
    assert.equal(outcome.failure?.code, "tls-untrusted-server");
  });

  it("reports tls-hostname-mismatch when the certificate does not name the server name", async () => {
    const outcome = await attempt(deviceTls(pki, broker.port, { serverName: "other.example.com" }));
    assert.equal(outcome.opened, false);
    assert.equal(outcome.failure?.code, "tls-hostname-mismatch");
  });

  it("reports the broker's TLS alert when the client certificate comes from an unknown CA", async () => {
    const outcome = await attempt(deviceTls(pki, broker.port, {
      clientCertificates: [pki.stranger.certDer], clientKey: pki.stranger.key.privateKeyDer,
    }), () => {});
    assert.match(outcome.failure?.code ?? "", /^tls-alert-(unknown-ca|bad-certificate)$/);
  });

  it("reports a TLS alert when no client certificate is sent", async () => {
    const outcome = await attempt(deviceTls(pki, broker.port, { clientCertificates: undefined, clientKey: undefined }), () => {});
    assert.match(outcome.failure?.code ?? "", /^tls-alert-/);
  });

  it("reports tls-alpn-refused when ALPN was offered and the server selected none", async () => {
    const outcome = await attempt(deviceTls(pki, broker.port, { alpn: ["x-amzn-mqtt-ca"] }));
    assert.equal(outcome.opened, false);
    assert.equal(outcome.failure?.code, "tls-alpn-refused");
  });

  it("reports connection-refused for a port nobody listens on", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const outcome = await attempt(deviceTls(pki, port));
    assert.equal(outcome.failure?.code, "connection-refused");
    assert.equal(outcome.failure?.retryable, true);
  });

  it("reports tls-handshake-reset when the server hangs up before the handshake ends", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const outcome = await attempt(deviceTls(pki, (server.address() as { port: number }).port));
      assert.equal(outcome.opened, false);
      assert.equal(outcome.failure?.code, "tls-handshake-reset");
    } finally {
      server.close();
    }
  });

  it("reports tls-setup-failed for a client key that is not PKCS#8 DER", async () => {
    const outcome = await attempt(deviceTls(pki, broker.port, { clientKey: Uint8Array.of(1, 2, 3) }));
    assert.equal(outcome.failure?.code, "tls-setup-failed");
    assert.doesNotMatch(outcome.failure!.message, /PRIVATE KEY/);
  });
});

describe("Node platform", () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "node-platform-")); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps strings and bytes in files that a new platform on the same folder reads back", () => {
    const first = createNodePlatform({ storageDir: dir, log: () => {} }).storage;
    first.set("thing/name", "device-001");
    first.set("blob", Uint8Array.of(0, 255, 7));
    first.set("gone", "x");
    first.remove("gone");
    const second = createNodePlatform({ storageDir: dir, log: () => {} }).storage;
    assert.equal(second.get("thing/name"), "device-001");
    assert.deepEqual(second.get("blob"), Uint8Array.of(0, 255, 7));
    assert.equal(second.get("gone"), undefined);
    second.set("blob", "now text");
    assert.equal(second.get("blob"), "now text");
  });

  it("computes SHA-256, SHA-1 and HMAC-SHA256 equal to their test vectors (FIPS 180, RFC 4231)", () => {
    const { crypto } = createNodePlatform({ storageDir: dir, log: () => {} });
    const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
    assert.equal(hex(crypto.sha256(new TextEncoder().encode("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(hex(crypto.sha1(new TextEncoder().encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
    const key = new Uint8Array(20).fill(0x0b);
    assert.equal(hex(crypto.hmacSha256(key, new TextEncoder().encode("Hi There"))), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  });
});
