// The certs commands as library functions: each writes its files under `outDir` (default
// `.dev/`), reports one line per file through `log`, and throws a CertsError whose message
// names the problem and the fix. The CLI (cli.ts) and `npm start` both call these.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CliError } from "../host/cli/command-line.js";
import { createHash, sign, X509Certificate } from "node:crypto";
import { decodeContainer } from "../firmware/credentials/container.js";
import { PARTITION_NAME, PREFERENCE_PREFIX, RESOURCE_NAME } from "../firmware/credentials/format.js";
import { validateContents, type CertificateContents } from "../firmware/credentials/validate.js";
import { signToken } from "./authorizer.js";
import { encodeImage, nvsCsv, partitionImage, partitionSizeFor, partitionTableLine, preferenceEntries } from "./image.js";
import { certificateKeyMatches, createCodeSigner, createRootCa, fromPem, generateRsaKey, issueCertificate, keyPairFromPem, readSubject, type Issued, type KeyPair, type Subject } from "./pki.js";
import { awsCliCommands, fetchRegistrationCode, registerCa } from "./register.js";
import { claimAwsCli, claimPolicy, createClaim, fleetTemplate } from "./fleet.js";
import { jitpTemplate, missingTemplateFields, type JitpTemplate, type TemplateField } from "./template.js";

/** A refusal of the certs commands: names the problem and the fix; the CLI exits 2 with it. */
export class CertsError extends CliError {}

export type Log = (line: string) => void;

export interface Common {
  /** Default ".dev" */
  outDir?: string;
  log?: Log;
}

export const DEFAULT_OUT_DIR = ".dev";
/** The code-signing certificate's file name, which is also its name in a credentials image and an OTA job's `certfile`. */
export const CODE_SIGNER_NAME = "code-signing.pem";

/** Where every command reads and writes, relative to outDir. */
export function layout(outDir = DEFAULT_OUT_DIR) {
  const ca = join(outDir, "ca");
  const device = (thing: string) => {
    const dir = join(outDir, "devices", thing);
    return {
      dir,
      certPem: join(dir, "device.pem"),
      certDer: join(dir, "device.der"),
      keyPem: join(dir, "device.key.pem"),
      keyDer: join(dir, "device.key.der"),
      chainPem: join(dir, "chain.pem"),
      image: join(dir, `${PARTITION_NAME}.bin`),
      partitionLine: join(dir, "partitions.csv.line"),
      preferenceJson: join(dir, "preference.json"),
      nvsCsv: join(dir, "nvs.csv"),
      resourcesDir: join(dir, "resources"),
    };
  };
  return {
    caPem: join(ca, "root-ca.pem"),
    caDer: join(ca, "root-ca.der"),
    caKeyPem: join(ca, "root-ca.key.pem"),
    verificationPem: join(ca, "verification.pem"),
    verificationKeyPem: join(ca, "verification.key.pem"),
    template: join(outDir, "jitp-template.json"),
    authorizerKeyPem: join(outDir, "authorizer", "authorizer.key.pem"),
    authorizerPubPem: join(outDir, "authorizer", "authorizer.pub.pem"),
    claimPem: join(outDir, "fleet", "claim.pem"),
    claimKeyPem: join(outDir, "fleet", "claim.key.pem"),
    claimKeyDer: join(outDir, "fleet", "claim.key.der"),
    claimPolicy: join(outDir, "fleet", "claim-policy.json"),
    fleetTemplate: join(outDir, "fleet", "fleet-template.json"),
    codeSigningPem: join(outDir, "code-signing", CODE_SIGNER_NAME),
    codeSigningDer: join(outDir, "code-signing", "code-signing.der"),
    codeSigningKeyPem: join(outDir, "code-signing", "code-signing.key.pem"),
    device,
  };
}

function write(log: Log, path: string, data: string | Uint8Array, secret = false): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data, secret ? { mode: 0o600 } : {});
  log(`wrote ${path}`);
}

function readText(path: string, fix: string): string {
  if (!existsSync(path)) throw new CertsError(`${path} does not exist; ${fix}`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new CertsError(`${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); make it readable for this user, or ${fix}`);
  }
}

/** The CA and its key from outDir. Throws CertsError naming the file and `npm run certs -- ca`. */
export function loadCa(outDir = DEFAULT_OUT_DIR): Issued {
  const files = layout(outDir);
  return loadIssued({ cert: files.caPem, key: files.caKeyPem }, "create it with `npm run certs -- ca` (`--force` replaces a broken one; register it again and reissue its devices then)");
}

/**
 * A certificate and its key from PEM files. Throws CertsError naming the file that is missing,
 * does not parse or does not match the other, with `fix`.
 */
export function loadIssued(files: { cert: string; key: string }, fix: string): Issued {
  const certPem = readText(files.cert, fix);
  const keyPem = readText(files.key, fix);
  const der = fromPem(certPem)[0];
  let subject: Subject;
  try {
    if (!der) throw new Error("no -----BEGIN CERTIFICATE----- block");
    subject = readSubject(der);
  } catch (e) {
    throw new CertsError(`${files.cert} is not a PEM certificate (${firstLine(e)}); ${fix}`);
  }
  let key: KeyPair;
  try {
    key = keyPairFromPem(keyPem);
  } catch (e) {
    throw new CertsError(`${files.key} is not a PEM private key (${firstLine(e)}); ${fix}`);
  }
  if (!certificateKeyMatches(der, key.publicKeyDer)) throw new CertsError(`${files.key} is not the key of ${files.cert}; ${fix}`);
  return { certPem, certDer: der, key, subject };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

/**
 * The firmware's own checks (firmware/credentials/validate.ts) on what a device would hold: the
 * key belongs to the leaf certificate, the chain is leaf first, every certificate is within its
 * dates now (the device judges the dates again at each boot, from the image's validity entry).
 * Throws CertsError with the firmware's sentence.
 */
export function checkAsDevice(what: string, contents: CertificateContents, now = Date.now()): void {
  const result = validateContents(contents, { now: () => now, isSet: () => true }, contents.key !== undefined);
  if (!result.ok) throw new CertsError(`${what} would be refused by the device: ${result.failure.message}`);
}

// ---- ca -------------------------------------------------------------------------------------

export interface CaOptions extends Common {
  subject?: Partial<Subject>;
  days?: number;
  /** Replace an existing CA (devices it issued then stop chaining to the registered CA). */
  force?: boolean;
}

/** Creates the device root CA under outDir/ca. Throws CertsError if one exists and `force` is not set. */
export async function createCaCommand(options: CaOptions = {}): Promise<Issued> {
  const log = options.log ?? (() => {});
  const files = layout(options.outDir);
  if (existsSync(files.caPem) && !options.force) {
    throw new CertsError(`${files.caPem} already exists; pass --force to replace it (devices it issued will no longer chain to a registered CA)`);
  }
  const subject: Subject = { commonName: "Device Root CA", ...options.subject };
  const ca = await createRootCa({ subject, days: options.days });
  write(log, files.caPem, ca.certPem);
  write(log, files.caDer, ca.certDer);
  write(log, files.caKeyPem, ca.key.privateKeyPem, true);
  return ca;
}

// ---- verification ---------------------------------------------------------------------------

export interface VerificationOptions extends Common {
  /** The account's registration code; fetched from the control plane when absent. */
  registrationCode?: string;
  endpointUrl?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The verification certificate (CommonName = registration code), signed by the CA. Throws CertsError without a CA or a code. */
export async function createVerificationCommand(options: VerificationOptions = {}): Promise<Issued> {
  const log = options.log ?? (() => {});
  const ca = loadCa(options.outDir);
  let code = options.registrationCode;
  if (!code) {
    try {
      code = await fetchRegistrationCode({ region: options.region ?? "us-east-1", endpointUrl: options.endpointUrl, ...(options.credentials ? { credentials: options.credentials } : {}) });
    } catch (e) {
      throw new CertsError(`could not fetch the registration code (${(e as Error).message}); pass --registration-code, or --endpoint-url of a reachable control plane with credentials`);
    }
    log(`registration code ${code}`);
  }
  const cert = await issueCertificate({ issuer: ca, kind: "client", subject: { commonName: code }, days: 30 });
  const files = layout(options.outDir);
  write(log, files.verificationPem, cert.certPem);
  write(log, files.verificationKeyPem, cert.key.privateKeyPem, true);
  return cert;
}

// ---- device ---------------------------------------------------------------------------------

export interface DeviceOptions extends Common, Omit<Subject, "commonName"> {
  thingName: string;
  /** Only "rsa" (RSA-2048) is accepted. */
  keyType?: string;
  days?: number;
  notBefore?: Date;
}

const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

/** Device key (RSA-2048: Moddable's TLS takes only RSA PKCS#8 client keys, docs/moddable.md) and certificate with CommonName = thing name, plus the chain file. Throws CertsError on a bad name or key type. */
export async function createDeviceCommand(options: DeviceOptions): Promise<Issued> {
  const log = options.log ?? (() => {});
  if (options.keyType && !/^rsa(-?2048)?$/i.test(options.keyType)) {
    throw new CertsError(`key type '${options.keyType}' is refused: Moddable's TLS accepts only RSA PKCS#8 client keys (its CertificateVerify is RSA-SHA256 only); omit --key-type or pass --key-type rsa`);
  }
  if (!THING_NAME.test(options.thingName)) {
    throw new CertsError(`thing name '${options.thingName}' is not valid; use 1-128 characters from a-z A-Z 0-9 : _ -`);
  }
  if (options.country !== undefined && !/^[A-Z]{2}$/.test(options.country)) {
    throw new CertsError(`country '${options.country}' is not a two-letter ISO 3166 code; pass e.g. --country US`);
  }
  const ca = loadCa(options.outDir);
  checkCaDates(ca, layout(options.outDir).caPem);
  const { outDir: _o, log: _l, thingName, keyType: _k, days, notBefore, ...fields } = options;
  const subject: Subject = { commonName: thingName, ...fields };
  const device = await issueCertificate({ issuer: ca, kind: "client", subject, key: await generateRsaKey(2048), days: days ?? 365, notBefore });
  checkAsDevice(`the device certificate for '${thingName}'`, { key: device.key.privateKeyDer, chain: [device.certDer, ca.certDer], trustedCa: [ca.certDer] }, notBefore?.getTime() ?? Date.now());
  const files = layout(options.outDir).device(thingName);
  write(log, files.certPem, device.certPem);
  write(log, files.certDer, device.certDer);
  write(log, files.keyPem, device.key.privateKeyPem, true);
  write(log, files.keyDer, device.key.privateKeyDer, true);
  write(log, files.chainPem, device.certPem + ca.certPem);
  return device;
}

/** Throws CertsError when the CA at `file` is outside its validity dates, with the fix that works: a new CA. */
function checkCaDates(ca: Issued, file: string, now = Date.now()): void {
  const { validFrom, validTo } = new X509Certificate(ca.certDer);
  const notBefore = Date.parse(validFrom);
  const notAfter = Date.parse(validTo);
  const renew = "create a new CA with `npm run certs -- ca --force`, register it (`verification`, `register`) and reissue the devices";
  if (now > notAfter) throw new CertsError(`the device root CA ${file} expired on ${new Date(notAfter).toISOString()}: devices it issues would be refused; ${renew}`);
  if (now < notBefore) throw new CertsError(`the device root CA ${file} is not valid before ${new Date(notBefore).toISOString()}: check this computer's clock, or ${renew}`);
}

/** A device's certificate and key from outDir. Throws CertsError naming `npm run certs -- device` when absent. */
export function loadDevice(thingName: string, outDir = DEFAULT_OUT_DIR): Issued {
  const files = layout(outDir).device(thingName);
  return loadIssued({ cert: files.certPem, key: files.keyPem }, `create it again with \`npm run certs -- device --thing-name ${thingName}\``);
}

// ---- template -------------------------------------------------------------------------------

export interface TemplateCommandOptions extends Common {
  region?: string;
  accountId: string;
  roleArn?: string;
  fields?: TemplateField[];
}

/** Writes the JITP registration config (templateBody + roleArn). Throws CertsError on a bad account id. */
export function writeTemplateCommand(options: TemplateCommandOptions): JitpTemplate {
  if (!/^[0-9]{12}$/.test(options.accountId)) {
    throw new CertsError(`account id '${options.accountId}' is not 12 digits; pass --account-id (the local stand-in uses 123456789012)`);
  }
  const template = jitpTemplate({ region: options.region ?? "us-east-1", accountId: options.accountId, roleArn: options.roleArn, fields: options.fields });
  write(options.log ?? (() => {}), layout(options.outDir).template, JSON.stringify(template, null, 2) + "\n");
  return template;
}

// ---- authorizer -----------------------------------------------------------------------------

/** The custom authorizer's RSA key pair (the public key is what the authorizer is created with). */
export async function createAuthorizerKeysCommand(options: Common & { bits?: number } = {}): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const log = options.log ?? (() => {});
  const key = await generateRsaKey(options.bits ?? 2048);
  const files = layout(options.outDir);
  write(log, files.authorizerKeyPem, key.privateKeyPem, true);
  write(log, files.authorizerPubPem, key.publicKeyPem);
  return { privateKeyPem: key.privateKeyPem, publicKeyPem: key.publicKeyPem };
}

/** Base64 RSA-SHA256 signature of the token with the authorizer key (default outDir/authorizer). Throws CertsError without a key. */
export function signTokenCommand(options: Common & { token: string; keyFile?: string }): string {
  const path = options.keyFile ?? layout(options.outDir).authorizerKeyPem;
  const pem = readText(path, "create it with `npm run certs -- authorizer-keys` or pass --key <file>");
  try {
    return signToken(options.token, pem);
  } catch {
    throw new CertsError(`${path} is not a usable RSA private key; pass --key with a PEM private key`);
  }
}

// ---- code signing (OTA images) -------------------------------------------------------------

/**
 * The OTA code-signing key (ECDSA P-256: the device verifies with Moddable's ECDSA, docs/ota.md)
 * and its self-signed certificate (digitalSignature, codeSigning). Throws CertsError if one
 * exists and `force` is not set.
 */
export async function codeSigningCommand(options: Common & { commonName?: string; days?: number; force?: boolean } = {}): Promise<Issued> {
  const log = options.log ?? (() => {});
  const files = layout(options.outDir);
  if (existsSync(files.codeSigningPem) && !options.force) {
    throw new CertsError(`${files.codeSigningPem} already exists; pass --force to replace it (devices then need a credentials image with the new certificate before they accept images it signs)`);
  }
  const signer = await createCodeSigner({ subject: { commonName: options.commonName ?? "OTA code signer" }, days: options.days });
  write(log, files.codeSigningPem, signer.certPem);
  write(log, files.codeSigningDer, signer.certDer);
  write(log, files.codeSigningKeyPem, signer.key.privateKeyPem, true);
  log(`put it in the device's credentials: \`npm run certs -- image ... --code-signing ${files.codeSigningPem}\` (certfile "${CODE_SIGNER_NAME}")`);
  return signer;
}

/** What an OTA job document's file entry carries for an image (AWS's `afr_ota` format, docs/ota.md). */
export interface ImageSignature {
  filesize: number;
  /** hex SHA-256 of the image */
  sha256: string;
  certfile: string;
  "sig-sha256-ecdsa": string;
}

/**
 * Signs `image` with the code-signing key (default outDir/code-signing): base64 of the DER
 * ECDSA signature over the image's SHA-256, as the job document's `sig-sha256-ecdsa`. Throws
 * CertsError when the image or a usable P-256 key is missing.
 */
export function signImageCommand(options: Common & { image: string; keyFile?: string; certFile?: string }): ImageSignature {
  let image: Buffer;
  try {
    image = readFileSync(options.image);
  } catch (e) {
    throw new CertsError(`--image ${options.image} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass the firmware image file`);
  }
  if (image.length === 0) throw new CertsError(`--image ${options.image} is empty; pass the firmware image file`);
  const files = layout(options.outDir);
  const certFile = options.certFile ?? files.codeSigningPem;
  const signer = loadIssued({ cert: certFile, key: options.keyFile ?? files.codeSigningKeyPem }, "create them with `npm run certs -- code-signing`");
  if (new X509Certificate(signer.certDer).publicKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new CertsError(`${certFile} is not an ECDSA P-256 code-signing certificate; make one with \`npm run certs -- code-signing\``);
  }
  const signature = sign("sha256", image, { key: signer.key.privateKeyPem, dsaEncoding: "der" });
  return { filesize: image.length, sha256: createHash("sha256").update(image).digest("hex"), certfile: basename(certFile), "sig-sha256-ecdsa": signature.toString("base64") };
}

// ---- register -------------------------------------------------------------------------------

export interface RegisterCommandOptions extends Common {
  region?: string;
  endpointUrl?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Attach the JITP template from outDir (default true when the file exists). */
  withTemplate?: boolean;
  allowAutoRegistration?: boolean;
}

/** Registers the CA (set as active, auto-registration, template) and prints the equivalent AWS CLI commands. Throws CertsError on a refusal. */
export async function registerCommand(options: RegisterCommandOptions = {}): Promise<{ certificateId: string; certificateArn: string; awsCli: string[] }> {
  const log = options.log ?? (() => {});
  const files = layout(options.outDir);
  const caPem = readText(files.caPem, "create it with `npm run certs -- ca`");
  const verificationPem = readText(files.verificationPem, "create it with `npm run certs -- verification`");
  const useTemplate = options.withTemplate ?? existsSync(files.template);
  const template = useTemplate ? (JSON.parse(readText(files.template, "create it with `npm run certs -- template`")) as JitpTemplate) : undefined;
  const plane = { region: options.region ?? "us-east-1", endpointUrl: options.endpointUrl, ...(options.credentials ? { credentials: options.credentials } : {}) };
  const awsCli = awsCliCommands({ ca: files.caPem, verification: files.verificationPem, template: useTemplate ? files.template : undefined }, plane);
  log("equivalent AWS CLI commands:");
  for (const line of awsCli) log(`  ${line}`);
  try {
    const result = await registerCa({ ...plane, caPem, verificationPem, template, allowAutoRegistration: options.allowAutoRegistration ?? true });
    log(`registered CA ${result.certificateId}${template ? " with the JITP template" : ""}`);
    return { ...result, awsCli };
  } catch (e) {
    throw new CertsError(`RegisterCACertificate failed (${(e as Error).name}: ${(e as Error).message}); check the verification certificate carries this account's registration code (\`npm run certs -- verification\`) and the credentials/region`);
  }
}

// ---- fleet provisioning by claim -------------------------------------------------------------

export interface ClaimCommandOptions extends Common {
  templateName: string;
  accountId: string;
  region?: string;
  /** The control plane (the stand-in's URL); without it only the policy and template files are written. */
  endpointUrl?: string;
  roleArn?: string;
  hookArn?: string;
  /** Explicit credentials (the stand-in's account key); default: the SDK's usual chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Writes the claim policy and the fleet template (`fleet/claim-policy.json`,
 * `fleet/fleet-template.json`, the latter in create-provisioning-template's --cli-input-json
 * shape); with a control plane also makes the claim (key and certificate through
 * CreateKeysAndCertificate, kept in `fleet/claim.*`; an existing claim is reused), attaches the
 * policy and creates the template. Throws CertsError on a bad account id or a refusal.
 */
export async function claimCommand(options: ClaimCommandOptions): Promise<{ certificateId?: string }> {
  const log = options.log ?? (() => {});
  if (!/^[0-9]{12}$/.test(options.accountId)) throw new CertsError(`account id '${options.accountId}' is not 12 digits; pass --account-id (the local stand-in uses 123456789012)`);
  if (!/^[0-9A-Za-z_-]{1,36}$/.test(options.templateName)) throw new CertsError(`template name '${options.templateName}' must be 1-36 characters of [0-9A-Za-z_-]; pass another --template-name`);
  const region = options.region ?? "us-east-1";
  const files = layout(options.outDir);
  const template = fleetTemplate({ region, accountId: options.accountId, roleArn: options.roleArn });
  write(log, files.claimPolicy, JSON.stringify(claimPolicy(region, options.accountId, options.templateName), null, 2) + "\n");
  write(log, files.fleetTemplate, JSON.stringify({ templateName: options.templateName, type: "FLEET_PROVISIONING", enabled: true, ...template }, null, 2) + "\n");
  const cli = claimAwsCli({ claimPem: files.claimPem, claimKeyPem: files.claimKeyPem, policy: files.claimPolicy, template: files.fleetTemplate }, { templateName: options.templateName, endpointUrl: options.endpointUrl, region });
  log("equivalent AWS CLI commands:");
  for (const line of cli) log(`  ${line}`);
  if (!options.endpointUrl) {
    log("no --endpoint-url: the claim, its policy and the template are not created (run the commands above, or pass --endpoint-url)");
    return {};
  }
  const existing = existsSync(files.claimPem) && existsSync(files.claimKeyPem) ? readText(files.claimPem, "") : undefined;
  try {
    const claim = await createClaim({ templateName: options.templateName, region, accountId: options.accountId, endpointUrl: options.endpointUrl, roleArn: options.roleArn, hookArn: options.hookArn, existingClaimPem: existing, credentials: options.credentials, log });
    if (claim.privateKeyPem) {
      const key = keyPairFromPem(claim.privateKeyPem);
      write(log, files.claimPem, claim.certificatePem);
      write(log, files.claimKeyPem, key.privateKeyPem, true);
      write(log, files.claimKeyDer, key.privateKeyDer, true);
    }
    return { certificateId: claim.certificateId };
  } catch (e) {
    throw new CertsError(`the claim could not be set up (${(e as Error).name}: ${(e as Error).message}); check --endpoint-url, the credentials and the region`);
  }
}

/** The claim certificate and key from outDir. Throws CertsError naming `npm run certs -- claim`. */
export function loadClaim(outDir = DEFAULT_OUT_DIR): Issued {
  const files = layout(outDir);
  return loadIssued({ cert: files.claimPem, key: files.claimKeyPem }, "create it with `npm run certs -- claim --endpoint-url <control plane>`");
}

// ---- device credentials: image, preference, resources -------------------------------------

export interface DeviceCredentialOptions extends Common {
  thingName: string;
  /** PEM texts of the root CAs the device trusts for the server (Amazon Root CA 1, or the stand-in's). */
  trustedCaPem: string[];
  endpoint?: string;
  settings?: Record<string, string>;
  /** Fleet provisioning: the image carries the claim (`certs claim`), `thingName` is the unit's serial number. */
  claim?: boolean;
  /** PEM files of code-signing certificates the device accepts OTA images from, each named by its file name (the job's `certfile`). */
  codeSigningFiles?: string[];
}

/** The container for a device from its files in outDir. Throws CertsError without device files or trusted CA. */
export function deviceContainer(options: DeviceCredentialOptions): Uint8Array {
  const device = options.claim ? loadClaim(options.outDir) : loadDevice(options.thingName, options.outDir);
  const chain = options.claim ? [device.certDer] : fromPem(readText(layout(options.outDir).device(options.thingName).chainPem, "recreate it with `npm run certs -- device`"));
  const trustedCa = options.trustedCaPem.flatMap((pem) => fromPem(pem));
  if (trustedCa.length === 0) {
    throw new CertsError("no trusted root CA given; pass --trusted-ca <file.pem> (AmazonRootCA1.pem for AWS, the stand-in's server CA locally)");
  }
  // A claim image names the unit by its serial number; the thing name comes from RegisterThing.
  const settings: Record<string, string> = { [options.claim ? "serialNumber" : "thingName"]: options.thingName, ...(options.endpoint ? { endpoint: options.endpoint } : {}), ...options.settings };
  const codeSigners = (options.codeSigningFiles ?? []).map((file) => {
    const certificate = fromPem(readText(file, "make it with `npm run certs -- code-signing`"))[0];
    if (!certificate) throw new CertsError(`--code-signing ${file} holds no PEM certificate; pass the certificate \`npm run certs -- code-signing\` wrote`);
    return [basename(file), certificate] as [string, Uint8Array];
  });
  checkAsDevice(`the credentials for '${options.thingName}'`, { key: device.key.privateKeyDer, chain, trustedCa });
  const container = encodeImage({ key: device.key.privateKeyDer, chain, trustedCa, settings, codeSigners });
  const decoded = decodeContainer(container);
  if (!decoded.ok) throw new CertsError(`the credentials for '${options.thingName}' do not decode as the device reads them: ${decoded.failure.message}`);
  return container;
}

/** Writes the partition image (padded to a 4 KB multiple) and its partitions.csv line. Throws CertsError when it does not fit. */
export function imageCommand(options: DeviceCredentialOptions & { partitionSize?: number }): { image: Uint8Array; partitionLine: string } {
  const log = options.log ?? (() => {});
  const container = deviceContainer(options);
  const size = options.partitionSize ?? partitionSizeFor(container.length);
  let image: Uint8Array;
  try {
    image = partitionImage(container, size);
  } catch (e) {
    throw new CertsError((e as Error).message);
  }
  const files = layout(options.outDir).device(options.thingName);
  const partitionLine = partitionTableLine(size);
  write(log, files.image, image, true);
  write(log, files.partitionLine, partitionLine + "\n");
  log(`partitions.csv line: ${partitionLine}`);
  log(`flash it: parttool.py write_partition --partition-name=${PARTITION_NAME} --input ${files.image}`);
  return { image, partitionLine };
}

/** Writes the Preference entries as JSON (host runtimes) and as an NVS CSV (nvs_partition_gen.py). */
export function preferenceCommand(options: DeviceCredentialOptions & { namespace?: string; prefix?: string }): { key: string; value: string | Uint8Array }[] {
  const log = options.log ?? (() => {});
  const entries = preferenceEntries(deviceContainer(options), options.prefix ?? PREFERENCE_PREFIX);
  const files = layout(options.outDir).device(options.thingName);
  const json = entries.map(({ key, value }) => (typeof value === "string" ? { key, type: "string", value } : { key, type: "base64", value: Buffer.from(value).toString("base64") }));
  write(log, files.preferenceJson, JSON.stringify(json, null, 2) + "\n", true);
  write(log, files.nvsCsv, nvsCsv(entries, options.namespace ?? "iotcore"), true);
  return entries;
}

/** Writes the image as a resource plus a manifest fragment that bakes it into a development build. */
export function resourcesCommand(options: DeviceCredentialOptions): { dir: string; manifest: string } {
  const log = options.log ?? (() => {});
  const dir = layout(options.outDir).device(options.thingName).resourcesDir;
  write(log, join(dir, RESOURCE_NAME), deviceContainer(options), true);
  const manifest = join(dir, "manifest.json");
  const base = RESOURCE_NAME.replace(/\.bin$/, "");
  write(log, manifest, JSON.stringify({ resources: { "*": [`./${base}`] } }, null, 2) + "\n");
  log(`include ${manifest} from a development manifest; never ship it in a release image`);
  return { dir, manifest };
}

/** Subject fields a template declares that this device's certificate lacks. */
export function checkDeviceAgainstTemplate(thingName: string, outDir = DEFAULT_OUT_DIR): string[] {
  const files = layout(outDir);
  if (!existsSync(files.template)) return [];
  return missingTemplateFields(JSON.parse(readFileSync(files.template, "utf8")) as JitpTemplate, loadDevice(thingName, outDir).subject);
}
