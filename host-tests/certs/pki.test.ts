import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createRootCa, issueCertificate, readSubject, type Issued } from "../../certs/pki.js";

describe("certs/pki", () => {
  let dir: string;
  let ca: Issued;
  let server: Issued;
  let client: Issued;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pki-test-"));
    ca = await createRootCa({ subject: { commonName: "Test Root CA", organization: "Example" } });
    server = await issueCertificate({
      issuer: ca,
      kind: "server",
      subject: { commonName: "localhost" },
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1", "::1"],
    });
    client = await issueCertificate({
      issuer: ca,
      kind: "client",
      subject: {
        commonName: "thing-1",
        country: "US",
        organization: "Example Corp",
        organizationalUnit: "Sensors",
        stateName: "WA",
        serialNumber: "SN-0001",
        distinguishedNameQualifier: "dnq-1",
      },
    });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("issues certificates that openssl verifies against the root CA", () => {
    writeFileSync(join(dir, "ca.pem"), ca.certPem);
    for (const [name, cert] of [["server", server], ["client", client]] as const) {
      writeFileSync(join(dir, `${name}.pem`), cert.certPem);
      const out = execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, `${name}.pem`)], {
        encoding: "utf8",
      });
      assert.match(out, /: OK/);
    }
  });

  it("writes every template subject field, serialNumber as 2.5.4.5", () => {
    writeFileSync(join(dir, "client.pem"), client.certPem);
    const text = execFileSync("openssl", ["x509", "-noout", "-subject", "-nameopt", "oid", "-in", join(dir, "client.pem")], {
      encoding: "utf8",
    });
    assert.match(text, /2\.5\.4\.5\s*=\s*SN-0001/);
    assert.deepEqual(readSubject(client.certDer), client.subject);
  });

  it("gives node:tls a server and client certificate it accepts for mutual TLS", async () => {
    const srv = tls.createServer({
      key: server.key.privateKeyPem,
      cert: server.certPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const serverSaw = new Promise<string>((resolve) =>
      srv.on("secureConnection", (socket) => {
        resolve(socket.authorized ? String(socket.getPeerCertificate().subject.CN) : "unauthorized");
        socket.end();
      }),
    );
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    try {
      const port = (srv.address() as AddressInfo).port;
      const clientAuthorized = await new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("handshake did not finish")), 5000);
        const socket = tls.connect({
          host: "127.0.0.1",
          port,
          servername: "localhost",
          ca: ca.certPem,
          key: client.key.privateKeyPem,
          cert: client.certPem,
        });
        socket.on("secureConnect", () => {
          clearTimeout(timer);
          resolve(socket.authorized);
          socket.end();
        });
        socket.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      assert.equal(clientAuthorized, true);
      assert.equal(await serverSaw, "thing-1");
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });
});
