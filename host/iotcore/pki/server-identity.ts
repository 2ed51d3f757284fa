// The stand-in's own server PKI in the state directory: a root CA (devices trust it in place
// of Amazon Root CA 1) and a server certificate for the endpoint, localhost, 127.0.0.1 and
// ::1. Created once, reused on restart while it still covers the endpoint.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createRootCa, issueCertificate, keyPairFromPem } from "../../../certs/pki.js";
import { StateFileError } from "../startup-failure.js";

export interface ServerIdentity {
  caPem: string;
  certPem: string;   // server certificate followed by the CA
  keyPem: string;
  caKeyPem: string;  // issues certificates for further served names (custom domains, Cognito)
}

/**
 * Loads or creates the identity. Rejects with StateFileError naming a stored certificate or key
 * that does not parse, or with the file system's error when the state directory cannot be written.
 */
export async function loadServerIdentity(stateDir: string, endpoint: string): Promise<ServerIdentity> {
  const dir = join(stateDir, "server");
  mkdirSync(dir, { recursive: true });
  const files = { ca: join(dir, "root-ca.pem"), caKey: join(dir, "root-ca.key"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
  const fix = `delete ${dir} to have a new server PKI made (devices must then trust the new ${files.ca})`;
  const certificate = (file: string) => validPem(file, (pem) => new X509Certificate(pem), "PEM certificate", fix);
  const privateKey = (file: string) => validPem(file, (pem) => createPrivateKey(pem), "PEM private key", fix);
  if (Object.values(files).every((f) => existsSync(f))) {
    const certPem = certificate(files.cert);
    if (new X509Certificate(certPem).checkHost(endpoint)) {
      return { caPem: certificate(files.ca), certPem, keyPem: privateKey(files.key), caKeyPem: privateKey(files.caKey) };
    }
  }
  const ca = existsSync(files.ca) && existsSync(files.caKey)
    ? { certPem: certificate(files.ca), key: keyPairFromPem(privateKey(files.caKey)) }
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

/** The text of `file` once `check` accepts it; throws StateFileError naming the file, what it should hold and `fix`. */
function validPem(file: string, check: (text: string) => unknown, what: string, fix: string): string {
  const text = readFileSync(file, "utf8");
  try {
    check(text);
    return text;
  } catch (error) {
    throw new StateFileError(`${file} is not a valid ${what} (${(error as Error).message}): ${fix}`, { cause: error });
  }
}
