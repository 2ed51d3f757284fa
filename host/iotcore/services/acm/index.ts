// AWS Certificate Manager, as far as AWS IoT needs it: server certificates for custom domains,
// referred to by ARN in create-domain-configuration --server-certificate-arns. ImportCertificate
// takes a certificate and key as AWS does; RequestCertificate is issued at once by the
// stand-in's server CA for the requested names (AWS validates the names by DNS or e-mail first:
// the stand-in skips that and says so in its log), so devices that trust that CA accept it.
import { randomUUID, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { RouteTable } from "../../control/routes.js";
import type { OperationInput } from "../../control/server.js";
import type { Collection } from "../../registry/collection.js";
import { AwsError } from "../../registry/errors.js";
import type { CoreContext, Service } from "../../service.js";
import type { ServerCertificateRecord } from "../iot/domain-configurations.js";
import routes from "./routes.json" with { type: "json" };

export interface AcmCertificateRecord extends ServerCertificateRecord {
  /** absent in certificates the IoT service made itself for a domain without ARNs: IMPORTED */
  type?: "IMPORTED" | "AMAZON_ISSUED";
  createdAt?: number;   // epoch ms
}

export interface AcmService extends Service {
  certificates: Collection<AcmCertificateRecord>;
}

// ACM answers every client error with HTTP 400 (AWS JSON protocol).
const refuse = (code: string, message: string): never => { throw new AwsError(code, message, 400); };
const ARN = /^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;
const DOMAIN = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** `inUseBy(arn)`: the ARNs of the resources using a certificate (domain configurations). */
export function acmService(core: CoreContext, deps: { inUseBy(certificateArn: string): string[] }): AcmService {
  const certificates = core.store<AcmCertificateRecord>("certificates");
  const newArn = () => core.arn("acm", `certificate/${randomUUID()}`);
  const find = (arn: unknown): AcmCertificateRecord => {
    if (typeof arn !== "string" || !ARN.test(arn)) return refuse("InvalidArnException", `The ARN '${String(arn)}' is not an ACM certificate ARN`);
    return certificates.get(arn) ?? refuse("ResourceNotFoundException", `Could not find certificate ${arn}.`);
  };
  const text = (blob: unknown, name: string): string => {
    if (typeof blob !== "string" || blob === "") return refuse("ValidationException", `${name} is required`);
    // JSON-protocol blobs travel base64-encoded (awscli's fileb://); PEM text is taken as it is.
    return blob.includes("-----BEGIN") ? blob : Buffer.from(blob, "base64").toString("utf8");
  };

  const operations = {
    ImportCertificate: (input: OperationInput) => {
      const certificatePem = text(input.Certificate, "Certificate");
      const privateKeyPem = text(input.PrivateKey, "PrivateKey");
      const chainPem = input.CertificateChain ? text(input.CertificateChain, "CertificateChain") : undefined;
      try {
        createSecureContext({ cert: certificatePem + (chainPem ?? ""), key: privateKeyPem });
      } catch (error) {
        refuse("ValidationException", `The certificate, its chain or the private key is not usable: ${(error as Error).message}`);
      }
      const arn = input.CertificateArn ? find(input.CertificateArn).certificateArn : newArn();
      certificates.put(arn, { certificateArn: arn, certificatePem, privateKeyPem, ...(chainPem ? { chainPem } : {}), type: "IMPORTED", createdAt: core.now() });
      core.log(`acm: certificate ${arn} imported for ${names(certificatePem).join(", ")}`);
      return { CertificateArn: arn };
    },
    RequestCertificate: async (input: OperationInput) => {
      const requested = [String(input.DomainName ?? ""), ...((input.SubjectAlternativeNames as string[] | undefined) ?? [])].map((n) => n.toLowerCase());
      for (const name of requested) if (!DOMAIN.test(name)) refuse("InvalidDomainValidationOptionsException", `'${name}' is not a domain name ACM can issue a certificate for`);
      const issued = await core.issueServerCertificate([...new Set(requested)]);
      const arn = newArn();
      certificates.put(arn, { certificateArn: arn, ...issued, type: "AMAZON_ISSUED", createdAt: core.now() });
      core.log(`acm: certificate ${arn} issued at once by the stand-in's server CA for ${requested.join(", ")} (AWS first validates the names by ${String(input.ValidationMethod ?? "DNS")}; the stand-in skips that)`);
      return { CertificateArn: arn };
    },
    DescribeCertificate: (input: OperationInput) => ({ Certificate: describe(find(input.CertificateArn), deps.inUseBy(String(input.CertificateArn))) }),
    GetCertificate: (input: OperationInput) => {
      const record = find(input.CertificateArn);
      return { Certificate: record.certificatePem, ...(record.chainPem ? { CertificateChain: record.chainPem } : {}) };
    },
    ListCertificates: (input: OperationInput) => {
      const statuses = (input.CertificateStatuses as string[] | undefined) ?? [];
      const all = certificates.list().filter(() => statuses.length === 0 || statuses.includes("ISSUED"));
      const max = input.MaxItems === undefined ? 1000 : Number(input.MaxItems);
      if (!Number.isInteger(max) || max < 1 || max > 1000) refuse("ValidationException", "MaxItems must be between 1 and 1000");
      const start = input.NextToken ? Number(input.NextToken) : 0;
      if (!Number.isInteger(start) || start < 0) refuse("InvalidArgsException", "NextToken is not one this service issued");
      const page = all.slice(start, start + max);
      return {
        CertificateSummaryList: page.map((c) => ({ CertificateArn: c.certificateArn, DomainName: names(c.certificatePem)[0], Status: "ISSUED", Type: c.type ?? "IMPORTED", InUse: deps.inUseBy(c.certificateArn).length > 0 })),
        ...(start + max < all.length ? { NextToken: String(start + max) } : {}),
      };
    },
    DeleteCertificate: (input: OperationInput) => {
      const record = find(input.CertificateArn);
      const users = deps.inUseBy(record.certificateArn);
      if (users.length > 0) refuse("ResourceInUseException", `Certificate ${record.certificateArn} is in use by ${users.join(", ")}`);
      certificates.delete(record.certificateArn);
      core.log(`acm: certificate ${record.certificateArn} deleted`);
    },
  };
  return { name: "acm", certificates, api: { routes: routes as RouteTable, operations }, persists: [certificates] };
}

function names(pem: string): string[] {
  const x = new X509Certificate(pem);
  const alt = (x.subjectAltName ?? "").split(", ").filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4));
  const cn = /CN=([^\n]+)/.exec(x.subject)?.[1];
  return alt.length > 0 ? alt : cn ? [cn] : [];
}

function describe(c: AcmCertificateRecord, inUseBy: string[]) {
  const x = new X509Certificate(c.certificatePem);
  const all = names(c.certificatePem);
  const created = c.createdAt === undefined ? {} : { CreatedAt: c.createdAt / 1000, [c.type === "AMAZON_ISSUED" ? "IssuedAt" : "ImportedAt"]: c.createdAt / 1000 };
  return {
    CertificateArn: c.certificateArn, DomainName: all[0], SubjectAlternativeNames: all, Status: "ISSUED", Type: c.type ?? "IMPORTED",
    Serial: x.serialNumber.match(/.{1,2}/g)?.join(":").toLowerCase(), Subject: x.subject.replace(/\n/g, ","), Issuer: x.issuer.replace(/\n/g, ","),
    NotBefore: Date.parse(x.validFrom) / 1000, NotAfter: Date.parse(x.validTo) / 1000, KeyAlgorithm: x.publicKey.asymmetricKeyType === "ec" ? "EC_prime256v1" : "RSA_2048",
    InUseBy: inUseBy, ...created,
  };
}
