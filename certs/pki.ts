// Host-side PKI: RSA keys, a root CA and certificates it issues, in the shapes node:tls,
// openssl, mosquitto, the local IoT Core stand-in and AWS IoT Core accept.
//
// Keys are made by node:crypto (PKCS#8 / SPKI); certificates are assembled by @peculiar/x509
// over WebCrypto and signed sha256WithRSAEncryption.

import "reflect-metadata";
import { generateKeyPair as generateKeyPairCb, randomBytes, webcrypto, createPrivateKey, createPublicKey } from "node:crypto";
import { promisify } from "node:util";
import * as x509 from "@peculiar/x509";

// The library types its provider with the DOM Crypto type; node's webcrypto is that object.
x509.cryptoProvider.set(webcrypto as never);

const generateKeyPair = promisify(generateKeyPairCb);
const RSA_SHA256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
  /** PKCS#8 DER */
  privateKeyDer: Uint8Array;
  /** SubjectPublicKeyInfo DER */
  publicKeyDer: Uint8Array;
}

/** Certificate subject fields; the names match the AWS IoT JITP `AWS::IoT::Certificate::*` parameters. */
export interface Subject {
  commonName: string;
  country?: string;
  organization?: string;
  organizationalUnit?: string;
  stateName?: string;
  serialNumber?: string;
  distinguishedNameQualifier?: string;
}

export interface Issued {
  certPem: string;
  certDer: Uint8Array;
  key: KeyPair;
  subject: Subject;
}

/** A fresh RSA key pair (default 2048 bits). Rejects only if node:crypto does. */
export async function generateRsaKey(bits = 2048): Promise<KeyPair> {
  const pair = await generateKeyPair("rsa", {
    modulusLength: bits,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: "spki", format: "der" },
    privateKeyEncoding: { type: "pkcs8", format: "der" },
  });
  return keyPairFromDer(new Uint8Array(pair.privateKey), new Uint8Array(pair.publicKey));
}

/** A KeyPair from a private key PEM (PKCS#8 or PKCS#1). Throws if the PEM is not a private key. */
export function keyPairFromPem(privateKeyPem: string): KeyPair {
  const priv = createPrivateKey(privateKeyPem);
  const privateKeyDer = new Uint8Array(priv.export({ type: "pkcs8", format: "der" }));
  const publicKeyDer = new Uint8Array(createPublicKey(priv).export({ type: "spki", format: "der" }));
  return keyPairFromDer(privateKeyDer, publicKeyDer);
}

function keyPairFromDer(privateKeyDer: Uint8Array, publicKeyDer: Uint8Array): KeyPair {
  return {
    privateKeyDer,
    publicKeyDer,
    privateKeyPem: toPem("PRIVATE KEY", privateKeyDer),
    publicKeyPem: toPem("PUBLIC KEY", publicKeyDer),
  };
}

/** PEM text (64-column base64 body, ending in a newline) for DER bytes. */
export function toPem(label: string, der: Uint8Array): string {
  return `${x509.PemConverter.encode(der, label)}\n`;
}

/** DER bytes of every PEM block with `label` in `text`, in order; [] when none. */
export function fromPem(text: string, label = "CERTIFICATE"): Uint8Array[] {
  return x509.PemConverter.decodeWithHeaders(text).filter((block) => block.type === label).map((block) => new Uint8Array(block.rawData));
}

/** True when `publicKeyDer` (SPKI) is the key certified by `cert` (DER or PEM). Throws if the certificate does not parse. */
export function certificateKeyMatches(cert: Uint8Array | string, publicKeyDer: Uint8Array): boolean {
  const certified = new Uint8Array(new x509.X509Certificate(cert).publicKey.rawData);
  return Buffer.from(certified).equals(Buffer.from(publicKeyDer));
}

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** A fresh ECDSA P-256 key pair. Rejects only if node:crypto does. */
export async function generateEcKey(): Promise<KeyPair> {
  const pair = await generateKeyPair("ec", {
    namedCurve: "P-256",
    publicKeyEncoding: { type: "spki", format: "der" },
    privateKeyEncoding: { type: "pkcs8", format: "der" },
  });
  return keyPairFromDer(new Uint8Array(pair.privateKey), new Uint8Array(pair.publicKey));
}

/**
 * A self-signed code-signing certificate for an ECDSA P-256 key (keyUsage digitalSignature,
 * extendedKeyUsage codeSigning), as AWS's guide for ESP32 code signing makes it with openssl
 * (docs/ota.md).
 */
export async function createCodeSigner(opts: SelfSignedOptions): Promise<Issued> {
  const key = opts.key ?? (await generateEcKey());
  const keys = await importKeys(key, ECDSA_P256);
  return selfSigned(opts, 365, key, keys, ECDSA_SHA256, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ]);
}

interface SelfSignedOptions {
  subject: Subject;
  key?: KeyPair;
  days?: number;
  notBefore?: Date;
}

/** A certificate whose subject is its issuer, signed by its own key. */
async function selfSigned(opts: SelfSignedOptions, defaultDays: number, key: KeyPair, keys: ImportedKeys, signingAlgorithm: typeof RSA_SHA256 | typeof ECDSA_SHA256, extensions: x509.Extension[]): Promise<Issued> {
  const notBefore = opts.notBefore ?? backdated();
  const name = subjectName(opts.subject);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (opts.days ?? defaultDays) * DAY_MS),
    signingAlgorithm,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions,
  });
  return issued(cert, key, opts.subject);
}

/** A self-signed root CA (basicConstraints CA:TRUE critical, keyCertSign + cRLSign). */
export async function createRootCa(opts: SelfSignedOptions): Promise<Issued> {
  const key = opts.key ?? (await generateRsaKey());
  const keys = await importKeys(key);
  return selfSigned(opts, 3650, key, keys, RSA_SHA256, [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
  ]);
}

/**
 * A certificate signed by `issuer`: "server" (serverAuth, SANs), "client" (clientAuth) or an
 * intermediate "ca". Rejects if the issuer's key cannot be imported.
 */
export async function issueCertificate(opts: {
  issuer: Issued;
  subject: Subject;
  kind: "server" | "client" | "ca";
  key?: KeyPair;
  dnsNames?: string[];
  ipAddresses?: string[];
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<Issued> {
  const key = opts.key ?? (await generateRsaKey());
  const { certDer } = await issueForPublicKey({ ...opts, publicKeyDer: key.publicKeyDer });
  return { certDer, certPem: toPem("CERTIFICATE", certDer), key, subject: { ...opts.subject } };
}

/**
 * A certificate for a public key whose private key stays elsewhere (a certificate signing
 * request's key): as `issueCertificate`, from the SubjectPublicKeyInfo DER. Rejects if either
 * key cannot be imported.
 */
export async function issueForPublicKey(opts: {
  issuer: Issued;
  subject: Subject;
  kind: "server" | "client" | "ca";
  publicKeyDer: Uint8Array;
  dnsNames?: string[];
  ipAddresses?: string[];
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<{ certDer: Uint8Array; certPem: string }> {
  const publicKey = await webcrypto.subtle.importKey("spki", opts.publicKeyDer, RSA_SHA256, true, ["verify"]);
  const issuerKeys = await importKeys(opts.issuer.key);
  const issuerCert = new x509.X509Certificate(opts.issuer.certDer);
  const notBefore = opts.notBefore ?? backdated();
  const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + (opts.days ?? 365) * DAY_MS);
  const extensions: x509.Extension[] = [];
  if (opts.kind === "ca") {
    extensions.push(
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    );
  } else {
    extensions.push(
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([opts.kind === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    );
  }
  const names: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  extensions.push(
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuerKeys.publicKey),
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(opts.subject),
    issuer: issuerCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: RSA_SHA256,
    publicKey,
    signingKey: issuerKeys.privateKey,
    extensions,
  });
  const certDer = new Uint8Array(cert.rawData);
  return { certDer, certPem: toPem("CERTIFICATE", certDer) };
}

/** Subject fields read back from a certificate (DER or PEM); throws if it does not parse. */
export function readSubject(cert: Uint8Array | string): Subject {
  const c = new x509.X509Certificate(typeof cert === "string" ? cert : cert);
  const name = c.subjectName;
  const one = (oid: string): string | undefined => name.getField(oid)[0];
  const subject: Subject = { commonName: one("2.5.4.3") ?? "" };
  for (const [field, oid] of SUBJECT_OIDS) {
    const value = one(oid);
    if (value !== undefined && field !== "commonName") subject[field] = value;
  }
  return subject;
}

// DN order: C, ST, O, OU, CN, serialNumber, dnQualifier. OIDs throughout, so that serialNumber
// is written as 2.5.4.5 (PrintableString) whatever names the library knows.
const SUBJECT_OIDS: [keyof Subject, string][] = [
  ["country", "2.5.4.6"],
  ["stateName", "2.5.4.8"],
  ["organization", "2.5.4.10"],
  ["organizationalUnit", "2.5.4.11"],
  ["commonName", "2.5.4.3"],
  ["serialNumber", "2.5.4.5"],
  ["distinguishedNameQualifier", "2.5.4.46"],
];

function subjectName(subject: Subject): x509.JsonName {
  const name: x509.JsonName = [];
  for (const [field, oid] of SUBJECT_OIDS) {
    const value = subject[field];
    if (value !== undefined && value !== "") name.push({ [oid]: [value] });
  }
  return name;
}

type CryptoKey = webcrypto.CryptoKey;

interface ImportedKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

async function importKeys(key: KeyPair, algorithm: typeof RSA_SHA256 | typeof ECDSA_P256 = RSA_SHA256): Promise<ImportedKeys> {
  const privateKey = await webcrypto.subtle.importKey("pkcs8", key.privateKeyDer, algorithm, false, ["sign"]);
  const publicKey = await webcrypto.subtle.importKey("spki", key.publicKeyDer, algorithm, true, ["verify"]);
  return { privateKey, publicKey };
}

function issued(cert: x509.X509Certificate, key: KeyPair, subject: Subject): Issued {
  const certDer = new Uint8Array(cert.rawData);
  return { certDer, certPem: toPem("CERTIFICATE", certDer), key, subject: { ...subject } };
}

/** 16 random bytes, top bit clear so the INTEGER stays positive, never zero-led. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** One hour in the past: tolerates small clock skew between host and device or server. */
function backdated(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
}
