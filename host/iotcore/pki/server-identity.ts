// The stand-in's own server PKI in the state directory: a root CA (devices trust it in place
// of Amazon Root CA 1) and a server certificate for the endpoint, localhost, 127.0.0.1 and
// ::1. Created once, reused on restart while it still covers the endpoint.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { createRootCa, issueCertificate, keyPairFromPem } from "../../../certs/pki.js";

export interface ServerIdentity {
  caPem: string;
  certPem: string;   // server certificate followed by the CA
  keyPem: string;
  caKeyPem: string;  // issues certificates for further served names (custom domains, Cognito)
}

/** Loads or creates the identity; rejects only if the state directory cannot be written. */
export async function loadServerIdentity(stateDir: string, endpoint: string): Promise<ServerIdentity> {
  const dir = join(stateDir, "server");
  mkdirSync(dir, { recursive: true });
  const files = { ca: join(dir, "root-ca.pem"), caKey: join(dir, "root-ca.key"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
  if (Object.values(files).every((f) => existsSync(f))) {
    const certPem = readFileSync(files.cert, "utf8");
    if (new X509Certificate(certPem).checkHost(endpoint)) {
      return { caPem: readFileSync(files.ca, "utf8"), certPem, keyPem: readFileSync(files.key, "utf8"), caKeyPem: readFileSync(files.caKey, "utf8") };
    }
  }
  const ca = existsSync(files.ca) && existsSync(files.caKey)
    ? { certPem: readFileSync(files.ca, "utf8"), key: keyPairFromPem(readFileSync(files.caKey, "utf8")) }
    : await createRootCa({ subject: { commonName: "IoT Core stand-in Root CA", organization: "Local IoT Core" } });
  const caIssued = "certDer" in ca ? ca : { ...ca, certDer: new X509Certificate(ca.certPem).raw, subject: { commonName: "IoT Core stand-in Root CA" } };
  const server = await issueCertificate({
    issuer: caIssued, kind: "server", subject: { commonName: endpoint },
    dnsNames: [endpoint, "localhost"], ipAddresses: ["127.0.0.1", "::1"], days: 825,
  });
  writeFileSync(files.ca, caIssued.certPem);
  writeFileSync(files.caKey, caIssued.key.privateKeyPem, { mode: 0o600 });
  writeFileSync(files.cert, server.certPem + caIssued.certPem);
  writeFileSync(files.key, server.key.privateKeyPem, { mode: 0o600 });
  return { caPem: caIssued.certPem, certPem: server.certPem + caIssued.certPem, keyPem: server.key.privateKeyPem, caKeyPem: caIssued.key.privateKeyPem };
}
