// Keys and certificates for the TLS tests, made once per test run: a root CA that signs the
// broker's certificate and a device CA, which signs the device certificate (sent as a chain).
import { createRootCa, issueCertificate, type Issued } from "../../certs/pki.js";
import type { TlsOptions } from "../../firmware/platform/seam.js";
import type { MosquittoOptions } from "../../host/peers/mosquitto.js";

export interface TestPki {
  root: Issued;
  server: Issued;
  deviceCa: Issued;
  device: Issued;
  /** A CA and device certificate the broker does not know. */
  strangerCa: Issued;
  stranger: Issued;
}

let made: Promise<TestPki> | undefined;

export function testPki(): Promise<TestPki> {
  made ??= (async () => {
    const root = await createRootCa({ subject: { commonName: "Test Root CA" } });
    const server = await issueCertificate({ issuer: root, subject: { commonName: "localhost" }, kind: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const deviceCa = await issueCertificate({ issuer: root, subject: { commonName: "Test Device CA" }, kind: "ca" });
    const device = await issueCertificate({ issuer: deviceCa, subject: { commonName: "device-001" }, kind: "client" });
    const strangerCa = await createRootCa({ subject: { commonName: "Stranger CA" } });
    const stranger = await issueCertificate({ issuer: strangerCa, subject: { commonName: "intruder" }, kind: "client" });
    return { root, server, deviceCa, device, strangerCa, stranger };
  })();
  return made;
}

export function brokerTls(pki: TestPki): MosquittoOptions {
  return { caPem: pki.root.certPem, serverCertPem: pki.server.certPem, serverKeyPem: pki.server.key.privateKeyPem };
}

/** What a device passes to openTransport to reach the broker with its certificate chain. */
export function deviceTls(pki: TestPki, port: number, overrides: Partial<TlsOptions> = {}): TlsOptions {
  return {
    host: "127.0.0.1",
    port,
    serverName: "localhost",
    trustedCa: [pki.root.certDer],
    clientCertificates: [pki.device.certDer, pki.deviceCa.certDer],
    clientKey: pki.device.key.privateKeyDer,
    ...overrides,
  };
}
