// Issues server certificates from the stand-in's server CA for the names it serves beyond the
// default endpoint (custom domains, the Cognito-identity host), so devices that trust the CA
// accept them as they accept Amazon's.

import { X509Certificate } from "node:crypto";
import { issueCertificate, keyPairFromPem } from "../../../certs/pki.js";

export interface IssuedServerCertificate { certificatePem: string; privateKeyPem: string; chainPem: string }

/** Returns an issuer for `names`; the promise rejects only if the CA key cannot sign. */
export function serverCertificateIssuer(caCertPem: string, caKeyPem: string): (names: string[]) => Promise<IssuedServerCertificate> {
  const ca = new X509Certificate(caCertPem);
  const issuer = { certPem: caCertPem, certDer: new Uint8Array(ca.raw), key: keyPairFromPem(caKeyPem), subject: { commonName: ca.subject } };
  return async (names) => {
    const issued = await issueCertificate({ issuer, kind: "server", subject: { commonName: names[0]! }, dnsNames: names, days: 825 });
    return { certificatePem: issued.certPem, privateKeyPem: issued.key.privateKeyPem, chainPem: caCertPem };
  };
}
