// `npm run certs -- <command> [options]`: the PKI and provisioning setup in one tool.
// Thin layer over commands.ts: parse (host/cli/command-line.ts), check, call, print. Exit code 2
// on a usage or input error.

import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EXIT_USAGE, failureReport, parseCommandLine, runCli, usage, UsageError, wholeNumber, type CommandSpec, type OptionSpecs } from "../host/cli/command-line.js";
import * as commands from "./commands.js";
import { TEMPLATE_FIELDS, type TemplateField } from "./template.js";

interface CertsCommand {
  summary: string;
  options: OptionSpecs;
  run(args: Args, log: commands.Log): Promise<void>;
}
type Args = Record<string, string | boolean | string[] | undefined>;

/** Certificate validity: up to 100 years. */
const MAX_DAYS = 36_500;

const OUT: OptionSpecs = { "out-dir": { value: "DIR", help: `output folder (default ${commands.DEFAULT_OUT_DIR})` } };
const PLANE: OptionSpecs = {
  region: { help: "AWS region (default us-east-1)" },
  "endpoint-url": { value: "URL", help: "control plane URL, e.g. the local stand-in's http://127.0.0.1:<port>" },
};
const SUBJECT: OptionSpecs = {
  country: { help: "Country (two letters), AWS::IoT::Certificate::Country" },
  organization: { help: "Organization" },
  "organizational-unit": { help: "OrganizationalUnit" },
  "state-name": { help: "StateName" },
  "serial-number": { help: "SerialNumber (DN attribute 2.5.4.5)" },
  "dn-qualifier": { help: "DistinguishedNameQualifier" },
};
const DEVICE_CREDS: OptionSpecs = {
  "thing-name": { value: "NAME", help: "the device (required; with --claim, the unit's serial number)" },
  claim: { kind: "flag", help: "fleet provisioning: the image carries the claim from `certs claim`, and --thing-name is the unit's serial number" },
  "trusted-ca": { kind: "list", value: "FILE", help: "PEM file of a server root CA the device trusts (repeatable, required)" },
  endpoint: { value: "HOST", help: "IoT endpoint host stored as setting 'endpoint'" },
  setting: { kind: "list", value: "NAME=VALUE", help: "extra setting (repeatable)" },
  "code-signing": { kind: "list", value: "FILE", help: "PEM code-signing certificate the device accepts OTA images from (from `certs code-signing`; its file name is the job's certfile; repeatable)" },
};

function str(args: Args, name: string): string | undefined {
  return args[name] as string | undefined;
}

function required(args: Args, name: string, command: string): string {
  const value = str(args, name);
  if (!value) throw new UsageError(`\`certs ${command}\` needs --${name}; see \`npm run certs -- ${command} --help\``);
  return value;
}

/** A positive whole number option up to `max`, or undefined when absent. */
function count(args: Args, name: string, max: number): number | undefined {
  const text = str(args, name);
  return text === undefined ? undefined : wholeNumber(name, text, 1, max);
}

function subjectOf(args: Args) {
  const fields = {
    country: str(args, "country"),
    organization: str(args, "organization"),
    organizationalUnit: str(args, "organizational-unit"),
    stateName: str(args, "state-name"),
    serialNumber: str(args, "serial-number"),
    distinguishedNameQualifier: str(args, "dn-qualifier"),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as typeof fields;
}

function deviceCredentialOptions(args: Args, command: string, log: commands.Log): commands.DeviceCredentialOptions {
  const settings: Record<string, string> = {};
  for (const pair of (args.setting as string[] | undefined) ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--setting '${pair}' is not name=value`);
    settings[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const trusted = (args["trusted-ca"] as string[] | undefined) ?? [];
  if (trusted.length === 0) throw new UsageError(`\`certs ${command}\` needs --trusted-ca <file.pem>: AmazonRootCA1.pem for AWS, or the local stand-in's server CA`);
  return {
    outDir: str(args, "out-dir"),
    log,
    thingName: required(args, "thing-name", command),
    trustedCaPem: trusted.map((file) => {
      try {
        return readFileSync(file, "utf8");
      } catch {
        throw new commands.CertsError(`--trusted-ca ${file} cannot be read; pass an existing PEM file`);
      }
    }),
    endpoint: str(args, "endpoint"),
    settings,
    claim: args.claim === true,
    codeSigningFiles: args["code-signing"] as string[] | undefined,
  };
}

const COMMANDS: Record<string, CertsCommand> = {
  ca: {
    summary: "create the device root CA (RSA-2048, self-signed)",
    options: { ...OUT, "common-name": { help: "CA CommonName (default 'Device Root CA')" }, ...SUBJECT, days: { value: "N", help: "validity (default 3650)" }, force: { kind: "flag", help: "replace an existing CA" } },
    async run(args, log) {
      await commands.createCaCommand({ outDir: str(args, "out-dir"), log, force: args.force === true, days: count(args, "days", MAX_DAYS), subject: { ...subjectOf(args), ...(str(args, "common-name") ? { commonName: str(args, "common-name")! } : {}) } });
    },
  },
  verification: {
    summary: "create the CA's verification certificate (CommonName = registration code)",
    options: { ...OUT, ...PLANE, "registration-code": { value: "CODE", help: "the code from `aws iot get-registration-code`; fetched from the control plane when omitted" } },
    async run(args, log) {
      await commands.createVerificationCommand({ outDir: str(args, "out-dir"), log, registrationCode: str(args, "registration-code"), region: str(args, "region"), endpointUrl: str(args, "endpoint-url") });
    },
  },
  device: {
    summary: "create a device key (RSA-2048 PKCS#8) and certificate (CommonName = thing name) and the chain file",
    options: { ...OUT, "thing-name": { value: "NAME", help: "CommonName and thing name (required)" }, ...SUBJECT, "key-type": { help: "only 'rsa' (Moddable's TLS takes RSA PKCS#8 client keys only)" }, days: { value: "N", help: "validity (default 365)" } },
    async run(args, log) {
      const thingName = required(args, "thing-name", "device");
      await commands.createDeviceCommand({ outDir: str(args, "out-dir"), log, thingName, keyType: str(args, "key-type"), days: count(args, "days", MAX_DAYS), ...subjectOf(args) });
      const missing = commands.checkDeviceAgainstTemplate(thingName, str(args, "out-dir"));
      if (missing.length) log(`warning: the JITP template declares ${missing.join(", ")} but this certificate lacks it; JITP would leave it PENDING_ACTIVATION`);
    },
  },
  template: {
    summary: "write the JITP template (templateBody + roleArn) with a least-privilege policy",
    options: {
      ...OUT,
      region: PLANE.region!,
      "account-id": { value: "ID", help: "12-digit AWS account id (required; the stand-in uses 123456789012)" },
      "role-arn": { value: "ARN", help: "IAM role AWS IoT assumes (default arn:aws:iam::<account>:role/JITPRole)" },
      fields: { value: "LIST", help: `comma-separated subject fields the template uses besides CommonName (default country; any of ${Object.keys(TEMPLATE_FIELDS).join(", ")})` },
    },
    async run(args, log) {
      const fields = str(args, "fields")?.split(",").map((f) => f.trim()).filter(Boolean);
      for (const f of fields ?? []) {
        if (!(f in TEMPLATE_FIELDS)) throw new UsageError(`--fields: '${f}' is not one of ${Object.keys(TEMPLATE_FIELDS).join(", ")}`);
      }
      commands.writeTemplateCommand({ outDir: str(args, "out-dir"), log, region: str(args, "region"), accountId: required(args, "account-id", "template"), roleArn: str(args, "role-arn"), fields: fields as TemplateField[] | undefined });
    },
  },
  claim: {
    summary: "fleet provisioning by claim: the claim key and certificate (CreateKeysAndCertificate), its policy and the fleet template",
    options: {
      ...OUT, ...PLANE,
      "template-name": { value: "NAME", help: "the provisioning template (required)" },
      "account-id": { value: "ID", help: "12-digit AWS account id (required; the stand-in uses 123456789012)" },
      "role-arn": { value: "ARN", help: "IAM role AWS IoT assumes to provision (default arn:aws:iam::<account>:role/FleetProvisioningRole)" },
      "hook-arn": { value: "ARN", help: "the template's pre-provisioning hook (a Lambda function ARN)" },
    },
    async run(args, log) {
      await commands.claimCommand({
        outDir: str(args, "out-dir"), log, templateName: required(args, "template-name", "claim"), accountId: required(args, "account-id", "claim"),
        region: str(args, "region"), endpointUrl: str(args, "endpoint-url"), roleArn: str(args, "role-arn"), hookArn: str(args, "hook-arn"),
      });
    },
  },
  "authorizer-keys": {
    summary: "create the custom authorizer's RSA key pair",
    options: { ...OUT, bits: { value: "N", help: "RSA size (default 2048)" } },
    async run(args, log) {
      await commands.createAuthorizerKeysCommand({ outDir: str(args, "out-dir"), log, bits: count(args, "bits", 16384) });
    },
  },
  "sign-token": {
    summary: "print the base64 RSA-SHA256 signature of a custom-auth token",
    options: { ...OUT, token: { help: "the token (required)" }, key: { value: "FILE", help: "PEM private key (default <out-dir>/authorizer/authorizer.key.pem)" } },
    async run(args, log) {
      log(commands.signTokenCommand({ outDir: str(args, "out-dir"), token: required(args, "token", "sign-token"), keyFile: str(args, "key") }));
    },
  },
  "code-signing": {
    summary: "create the OTA code-signing key (ECDSA P-256) and its self-signed certificate (codeSigning)",
    options: { ...OUT, "common-name": { help: "CommonName (default 'OTA code signer')" }, days: { value: "N", help: "validity (default 365)" }, force: { kind: "flag", help: "replace an existing code-signing key" } },
    async run(args, log) {
      await commands.codeSigningCommand({ outDir: str(args, "out-dir"), log, commonName: str(args, "common-name"), days: count(args, "days", MAX_DAYS), force: args.force === true });
    },
  },
  "sign-image": {
    summary: "sign a firmware image: the sig-sha256-ecdsa value (base64 DER ECDSA over its SHA-256) an OTA job document carries",
    options: {
      ...OUT,
      image: { value: "FILE", help: "the firmware image (required)" },
      key: { value: "FILE", help: "PEM private key (default <out-dir>/code-signing/code-signing.key.pem)" },
      cert: { value: "FILE", help: "its certificate (default <out-dir>/code-signing/code-signing.pem); its file name is the certfile" },
      json: { kind: "flag", help: "print {filesize, sha256, certfile, sig-sha256-ecdsa}: the job document's file entry fields" },
    },
    async run(args, log) {
      const signed = commands.signImageCommand({ outDir: str(args, "out-dir"), image: required(args, "image", "sign-image"), keyFile: str(args, "key"), certFile: str(args, "cert") });
      log(args.json ? JSON.stringify(signed) : signed["sig-sha256-ecdsa"]);
    },
  },
  register: {
    summary: "register the CA with AWS IoT (active, auto-registration, JITP template) and print the aws CLI equivalent",
    options: { ...OUT, ...PLANE, "no-template": { kind: "flag", help: "register without the JITP template (JITR)" } },
    async run(args, log) {
      await commands.registerCommand({ outDir: str(args, "out-dir"), log, region: str(args, "region"), endpointUrl: str(args, "endpoint-url"), withTemplate: args["no-template"] ? false : undefined });
    },
  },
  image: {
    summary: "write the device's credentials partition image and its partitions.csv line",
    options: { ...OUT, ...DEVICE_CREDS, "partition-size": { value: "BYTES", help: "bytes, a multiple of 4096 (default 16384, more if needed)" } },
    async run(args, log) {
      commands.imageCommand({ ...deviceCredentialOptions(args, "image", log), partitionSize: count(args, "partition-size", 16 * 1024 * 1024) });
    },
  },
  preference: {
    summary: "write the device's credentials as Preference (NVS) entries: JSON and nvs_partition_gen CSV",
    options: { ...OUT, ...DEVICE_CREDS, namespace: { help: "NVS namespace (default iotcore)" } },
    async run(args, log) {
      commands.preferenceCommand({ ...deviceCredentialOptions(args, "preference", log), namespace: str(args, "namespace") });
    },
  },
  resources: {
    summary: "write the device's credentials as a resource and manifest fragment (development, simulator)",
    options: { ...OUT, ...DEVICE_CREDS },
    async run(args, log) {
      commands.resourcesCommand(deviceCredentialOptions(args, "resources", log));
    },
  },
};

/** Every command's usage as --help prints it. */
function commandSpec(name: string, command: CertsCommand): CommandSpec {
  return { name: `npm run certs -- ${name}`, summary: command.summary, options: command.options };
}

function usageOfAll(): string {
  const lines = ["usage: npm run certs -- <command> [options]   (each command takes --help)", "", "commands:"];
  for (const [name, spec] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(16)} ${spec.summary}`);
  lines.push("", "typical JITP setup: ca, template, verification, register, device, image");
  lines.push("fleet provisioning by claim: claim --endpoint-url, then per unit image --claim --thing-name <serial>");
  return lines.join("\n");
}

/** Runs one CLI invocation; resolves to the exit code. Lines go to `out`, errors to `err`. */
export async function main(argv: string[], out: commands.Log = (l) => console.log(l), err: commands.Log = (l) => console.error(l)): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    (name ? out : err)(usageOfAll());
    return name ? 0 : EXIT_USAGE;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    err(`npm run certs: unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(", ")}`);
    return EXIT_USAGE;
  }
  const spec = commandSpec(name, command);
  try {
    const parsed = parseCommandLine(spec, rest);
    if (parsed.help) {
      out(usage(spec));
      return 0;
    }
    await command.run(parsed.values as Args, out);
    return 0;
  } catch (e) {
    const { text, exitCode } = failureReport(`npm run certs -- ${name}`, e, spec);
    err(text);
    return exitCode;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) runCli("npm run certs", () => main(process.argv.slice(2)));
