// Certificates the stand-in issues itself, as AWS IoT does for CreateKeysAndCertificate and
// CreateCertificateFromCsr (control plane and fleet provisioning's MQTT API): signed by the
// stand-in's CA (in place of Amazon's), subject CN "AWS IoT Certificate", valid until the end
// of 2049 as AWS's are, registered in the registry with the status the caller asks for.
import "reflect-metadata";
import { createPrivateKey, webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { generateRsaKey, issueForPublicKey, keyPairFromPem, type Issued } from "../../../certs/pki.js";
import { AwsError } from "../registry/errors.js";
import type { CertificateOrigin, CertificateRecord, CertificateStatus, Registry } from "../registry/registry.js";

x509.cryptoProvider.set(webcrypto as never);

const SUBJECT = { commonName: "AWS IoT Certificate" };
const NOT_AFTER = new Date("2049-12-31T23:59:59Z");

export interface NewKeysAndCertificate { record: CertificateRecord; privateKeyPem: string; publicKeyPem: string }

export class DeviceCertificateIssuer {
  private readonly issuer: Issued;

  constructor(private readonly registry: Registry, ca: { certPem: string; keyPem: string }) {
    const der = new Uint8Array(new X509Certificate(ca.certPem).raw);
    this.issuer = { certPem: ca.certPem, certDer: der, key: keyPairFromPem(ca.keyPem), subject: { commonName: "IoT Core stand-in CA" } };
  }

  /** A fresh RSA-2048 key pair and its certificate, registered with `status` and `origin` (control plane or fleet provisioning). */
  async createKeysAndCertificate(status: CertificateStatus, origin: CertificateOrigin): Promise<NewKeysAndCertificate> {
    const key = await generateRsaKey();
    const { certPem } = await issueForPublicKey({ issuer: this.issuer, subject: SUBJECT, kind: "client", publicKeyDer: key.publicKeyDer, notAfter: NOT_AFTER });
    const record = this.registry.registerCertificate({ certificatePem: certPem, status, origin });
    // AWS hands out the private key as PKCS#1 PEM (label "RSA PRIVATE KEY").
    const privateKeyPem = createPrivateKey(key.privateKeyPem).export({ type: "pkcs1", format: "pem" }).toString();
    return { record, privateKeyPem, publicKeyPem: key.publicKeyPem };
  }

  /**
   * A certificate for the key of a PEM certificate signing request, registered with `status`.
   * Raises InvalidRequestException when the CSR does not parse, its signature does not verify
   * or its key is not RSA.
   */
  async createCertificateFromCsr(csrPem: unknown, status: CertificateStatus, origin: CertificateOrigin): Promise<CertificateRecord> {
    let request: x509.Pkcs10CertificateRequest;
    try {
      request = new x509.Pkcs10CertificateRequest(String(csrPem));
    } catch {
      throw new AwsError("InvalidRequestException", "certificateSigningRequest is not a PEM PKCS#10 certificate signing request");
    }
    if (!(await request.verify())) throw new AwsError("InvalidRequestException", "the certificate signing request's signature does not verify");
    const publicKeyDer = new Uint8Array(request.publicKey.rawData);
    let certPem: string;
    try {
      ({ certPem } = await issueForPublicKey({ issuer: this.issuer, subject: SUBJECT, kind: "client", publicKeyDer, notAfter: NOT_AFTER }));
    } catch (error) {
      throw new AwsError("InvalidRequestException", `the certificate signing request's key cannot be certified (RSA keys only here): ${(error as Error).message}`);
    }
    return this.registry.registerCertificate({ certificatePem: certPem, status, origin });
  }
}
