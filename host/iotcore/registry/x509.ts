// Certificate facts the registry and the data plane need: AWS's certificate id (SHA-256 of
// the DER, lowercase hex), subject fields, issuer checks. PEM text is read and written by
// certs/pki.ts (fromPem, toPem).
import "reflect-metadata";
import { createHash, X509Certificate } from "node:crypto";
import * as px509 from "@peculiar/x509";
/** AWS IoT's certificate id: SHA-256 over the DER, lowercase hex. */
export function certificateId(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/** Returns the parsed certificate, or undefined when the bytes are not an X.509 certificate. */
export function parseCertificate(der: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(Buffer.from(der));
  } catch {
    return undefined;
  }
}

/** True when `issuer` signed `subject` (names chain and the signature verifies). */
export function isIssuedBy(subject: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** True when the certificate is a CA (basicConstraints CA:TRUE). */
export function isCa(cert: X509Certificate): boolean {
  return cert.ca;
}

const SUBJECT_PARAMETERS: Record<string, string> = {
  CommonName: "CN",
  Country: "C",
  Organization: "O",
  OrganizationalUnit: "OU",
  DistinguishedNameQualifier: "2.5.4.46",
  StateName: "ST",
  SerialNumber: "2.5.4.5",
};

/**
 * The subject fields AWS offers a provisioning template, keyed by their template name
 * (`CommonName`, `Country`, ...). Absent fields are absent keys. Empty on unparsable input.
 */
export function subjectFields(der: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  let name: px509.Name;
  try {
    name = new px509.X509Certificate(Buffer.from(der)).subjectName;
  } catch {
    return fields;
  }
  for (const [parameter, attribute] of Object.entries(SUBJECT_PARAMETERS)) {
    const values = name.getField(attribute);
    if (values.length > 0) fields[parameter] = values[0];
  }
  return fields;
}
