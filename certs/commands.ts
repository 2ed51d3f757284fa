// The certs commands as library functions: each writes its files under `outDir` (default
// `.dev/`), reports one line per file through `log`, and throws a CertsError whose message
// names the problem and the fix. The CLI (cli.ts) and `npm start` both call these.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CliError } from "../host/cli/command-line.js";
import { PARTITION_NAME, PREFERENCE_PREFIX, RESOURCE_NAME } from "../firmware/credentials/format.js";
import { signToken } from "./authorizer.js";
import { encodeImage, nvsCsv, partitionImage, partitionSizeFor, partitionTableLine, preferenceEntries } from "./image.js";
import { createRootCa, fromPem, generateRsaKey, issueCertificate, keyPairFromPem, readSubject, type Issued, type Subject } from "./pki.js";
import { awsCliCommands, fetchRegistrationCode, registerCa } from "./register.js";
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
  return readFileSync(path, "utf8");
}

/** The CA and its key from outDir. Throws CertsError naming `npm run certs -- ca` when absent. */
export function loadCa(outDir = DEFAULT_OUT_DIR): Issued {
  const files = layout(outDir);
  const fix = "create it with `npm run certs -- ca`";
  return loadIssued(readText(files.caPem, fix), readText(files.caKeyPem, fix));
}

/** A certificate and key from PEM text. Throws CertsError when either does not parse. */
export function loadIssued(certPem: string, keyPem: string): Issued {
  const der = fromPem(certPem)[0];
  if (!der) throw new CertsError("no PEM certificate found; pass a file with a -----BEGIN CERTIFICATE----- block");
  try {
    return { certPem, certDer: der, key: keyPairFromPem(keyPem), subject: readSubject(der) };
  } catch (e) {
    throw new CertsError(`the certificate or key does not parse (${(e as Error).message.split("\n")[0]}); regenerate them with \`npm run certs\``);
  }
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
}

/** The verification certificate (CommonName = registration code), signed by the CA. Throws CertsError without a CA or a code. */
export async function createVerificationCommand(options: VerificationOptions = {}): Promise<Issued> {
  const log = options.log ?? (() => {});
  const ca = loadCa(options.outDir);
  let code = options.registrationCode;
  if (!code) {
    try {
      code = await fetchRegistrationCode({ region: options.region ?? "us-east-1", endpointUrl: options.endpointUrl });
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

/** Device key (RSA-2048) and certificate with CommonName = thing name, plus the chain file. Throws CertsError on a bad name or key type. */
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
  const { outDir: _o, log: _l, thingName, keyType: _k, days, notBefore, ...fields } = options;
  const subject: Subject = { commonName: thingName, ...fields };
  const device = await issueCertificate({ issuer: ca, kind: "client", subject, key: await generateRsaKey(2048), days: days ?? 365, notBefore });
  const files = layout(options.outDir).device(thingName);
  write(log, files.certPem, device.certPem);
  write(log, files.certDer, device.certDer);
  write(log, files.keyPem, device.key.privateKeyPem, true);
  write(log, files.keyDer, device.key.privateKeyDer, true);
  write(log, files.chainPem, device.certPem + ca.certPem);
  return device;
}

/** A device's certificate and key from outDir. Throws CertsError naming `npm run certs -- device` when absent. */
export function loadDevice(thingName: string, outDir = DEFAULT_OUT_DIR): Issued {
  const files = layout(outDir).device(thingName);
  const fix = `create it with \`npm run certs -- device --thing-name ${thingName}\``;
  return loadIssued(readText(files.certPem, fix), readText(files.keyPem, fix));
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

// ---- register -------------------------------------------------------------------------------

export interface RegisterCommandOptions extends Common {
  region?: string;
  endpointUrl?: string;
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
  const plane = { region: options.region ?? "us-east-1", endpointUrl: options.endpointUrl };
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

// ---- device credentials: image, preference, resources -------------------------------------

export interface DeviceCredentialOptions extends Common {
  thingName: string;
  /** PEM texts of the root CAs the device trusts for the server (Amazon Root CA 1, or the stand-in's). */
  trustedCaPem: string[];
  endpoint?: string;
  settings?: Record<string, string>;
}

/** The container for a device from its files in outDir. Throws CertsError without device files or trusted CA. */
export function deviceContainer(options: DeviceCredentialOptions): Uint8Array {
  const device = loadDevice(options.thingName, options.outDir);
  const chain = fromPem(readText(layout(options.outDir).device(options.thingName).chainPem, "recreate it with `npm run certs -- device`"));
  const trustedCa = options.trustedCaPem.flatMap((pem) => fromPem(pem));
  if (trustedCa.length === 0) {
    throw new CertsError("no trusted root CA given; pass --trusted-ca <file.pem> (AmazonRootCA1.pem for AWS, the stand-in's server CA locally)");
  }
  const settings: Record<string, string> = { thingName: options.thingName, ...(options.endpoint ? { endpoint: options.endpoint } : {}), ...options.settings };
  return encodeImage({ key: device.key.privateKeyDer, chain, trustedCa, settings });
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
