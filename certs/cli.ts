// `npm run certs -- <command> [options]`: the PKI and provisioning setup in one tool.
// Thin layer over commands.ts: parse, check, call, print. Exit code 2 on a usage or input error.

import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as commands from "./commands.js";
import { TEMPLATE_FIELDS, type TemplateField } from "./template.js";

type Kind = "string" | "flag" | "list" | "number";
interface OptionSpec {
  kind: Kind;
  help: string;
}
interface CommandSpec {
  summary: string;
  options: Record<string, OptionSpec>;
  run(args: Args, log: commands.Log): Promise<void>;
}
type Args = Record<string, string | boolean | string[] | number | undefined>;

const OUT: Record<string, OptionSpec> = { "out-dir": { kind: "string", help: `output folder (default ${commands.DEFAULT_OUT_DIR})` } };
const PLANE: Record<string, OptionSpec> = {
  region: { kind: "string", help: "AWS region (default us-east-1)" },
  "endpoint-url": { kind: "string", help: "control plane URL, e.g. the local stand-in's http://127.0.0.1:<port>" },
};
const SUBJECT: Record<string, OptionSpec> = {
  country: { kind: "string", help: "Country (two letters), AWS::IoT::Certificate::Country" },
  organization: { kind: "string", help: "Organization" },
  "organizational-unit": { kind: "string", help: "OrganizationalUnit" },
  "state-name": { kind: "string", help: "StateName" },
  "serial-number": { kind: "string", help: "SerialNumber (DN attribute 2.5.4.5)" },
  "dn-qualifier": { kind: "string", help: "DistinguishedNameQualifier" },
};
const DEVICE_CREDS: Record<string, OptionSpec> = {
  "thing-name": { kind: "string", help: "the device (required)" },
  "trusted-ca": { kind: "list", help: "PEM file of a server root CA the device trusts (repeatable, required)" },
  endpoint: { kind: "string", help: "IoT endpoint host stored as setting 'endpoint'" },
  setting: { kind: "list", help: "extra setting name=value (repeatable)" },
};

function str(args: Args, name: string): string | undefined {
  return args[name] as string | undefined;
}

function required(args: Args, name: string, command: string): string {
  const value = str(args, name);
  if (!value) throw new commands.CertsError(`\`certs ${command}\` needs --${name}; see \`npm run certs -- ${command} --help\``);
  return value;
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
    if (eq <= 0) throw new commands.CertsError(`--setting '${pair}' is not name=value`);
    settings[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const trusted = (args["trusted-ca"] as string[] | undefined) ?? [];
  if (trusted.length === 0) throw new commands.CertsError(`\`certs ${command}\` needs --trusted-ca <file.pem>: AmazonRootCA1.pem for AWS, or the local stand-in's server CA`);
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
  };
}

const COMMANDS: Record<string, CommandSpec> = {
  ca: {
    summary: "create the device root CA (RSA-2048, self-signed)",
    options: { ...OUT, "common-name": { kind: "string", help: "CA CommonName (default 'Device Root CA')" }, ...SUBJECT, days: { kind: "number", help: "validity (default 3650)" }, force: { kind: "flag", help: "replace an existing CA" } },
    async run(args, log) {
      await commands.createCaCommand({ outDir: str(args, "out-dir"), log, force: args.force === true, days: args.days as number | undefined, subject: { ...subjectOf(args), ...(str(args, "common-name") ? { commonName: str(args, "common-name")! } : {}) } });
    },
  },
  verification: {
    summary: "create the CA's verification certificate (CommonName = registration code)",
    options: { ...OUT, ...PLANE, "registration-code": { kind: "string", help: "the code from `aws iot get-registration-code`; fetched from the control plane when omitted" } },
    async run(args, log) {
      await commands.createVerificationCommand({ outDir: str(args, "out-dir"), log, registrationCode: str(args, "registration-code"), region: str(args, "region"), endpointUrl: str(args, "endpoint-url") });
    },
  },
  device: {
    summary: "create a device key (RSA-2048 PKCS#8) and certificate (CommonName = thing name) and the chain file",
    options: { ...OUT, "thing-name": { kind: "string", help: "CommonName and thing name (required)" }, ...SUBJECT, "key-type": { kind: "string", help: "only 'rsa' (Moddable's TLS takes RSA PKCS#8 client keys only)" }, days: { kind: "number", help: "validity (default 365)" } },
    async run(args, log) {
      const thingName = required(args, "thing-name", "device");
      await commands.createDeviceCommand({ outDir: str(args, "out-dir"), log, thingName, keyType: str(args, "key-type"), days: args.days as number | undefined, ...subjectOf(args) });
      const missing = commands.checkDeviceAgainstTemplate(thingName, str(args, "out-dir"));
      if (missing.length) log(`warning: the JITP template declares ${missing.join(", ")} but this certificate lacks it; JITP would leave it PENDING_ACTIVATION`);
    },
  },
  template: {
    summary: "write the JITP template (templateBody + roleArn) with a least-privilege policy",
    options: {
      ...OUT,
      region: PLANE.region!,
      "account-id": { kind: "string", help: "12-digit AWS account id (required; the stand-in uses 123456789012)" },
      "role-arn": { kind: "string", help: "IAM role AWS IoT assumes (default arn:aws:iam::<account>:role/JITPRole)" },
      fields: { kind: "string", help: `comma-separated subject fields the template uses besides CommonName (default country; any of ${Object.keys(TEMPLATE_FIELDS).join(", ")})` },
    },
    async run(args, log) {
      const fields = str(args, "fields")?.split(",").map((f) => f.trim()).filter(Boolean);
      for (const f of fields ?? []) {
        if (!(f in TEMPLATE_FIELDS)) throw new commands.CertsError(`--fields: '${f}' is not one of ${Object.keys(TEMPLATE_FIELDS).join(", ")}`);
      }
      commands.writeTemplateCommand({ outDir: str(args, "out-dir"), log, region: str(args, "region"), accountId: required(args, "account-id", "template"), roleArn: str(args, "role-arn"), fields: fields as TemplateField[] | undefined });
    },
  },
  "authorizer-keys": {
    summary: "create the custom authorizer's RSA key pair",
    options: { ...OUT, bits: { kind: "number", help: "RSA size (default 2048)" } },
    async run(args, log) {
      await commands.createAuthorizerKeysCommand({ outDir: str(args, "out-dir"), log, bits: args.bits as number | undefined });
    },
  },
  "sign-token": {
    summary: "print the base64 RSA-SHA256 signature of a custom-auth token",
    options: { ...OUT, token: { kind: "string", help: "the token (required)" }, key: { kind: "string", help: "PEM private key (default <out-dir>/authorizer/authorizer.key.pem)" } },
    async run(args, log) {
      log(commands.signTokenCommand({ outDir: str(args, "out-dir"), token: required(args, "token", "sign-token"), keyFile: str(args, "key") }));
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
    options: { ...OUT, ...DEVICE_CREDS, "partition-size": { kind: "number", help: "bytes, a multiple of 4096 (default 16384, more if needed)" } },
    async run(args, log) {
      commands.imageCommand({ ...deviceCredentialOptions(args, "image", log), partitionSize: args["partition-size"] as number | undefined });
    },
  },
  preference: {
    summary: "write the device's credentials as Preference (NVS) entries: JSON and nvs_partition_gen CSV",
    options: { ...OUT, ...DEVICE_CREDS, namespace: { kind: "string", help: "NVS namespace (default iotcore)" } },
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

function usage(): string {
  const lines = ["usage: npm run certs -- <command> [options]   (each command takes --help)", "", "commands:"];
  for (const [name, spec] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(16)} ${spec.summary}`);
  lines.push("", "typical JITP setup: ca, template, verification, register, device, image");
  return lines.join("\n");
}

function commandHelp(name: string, spec: CommandSpec): string {
  const lines = [`usage: npm run certs -- ${name} [options]`, spec.summary, "", "options:"];
  for (const [option, o] of Object.entries(spec.options)) {
    lines.push(`  --${option}${o.kind === "flag" ? "" : " <value>"}`.padEnd(32) + o.help);
  }
  return lines.join("\n");
}

/** Parsed options for `spec`. Throws CertsError naming the bad option and how to see the valid ones. */
export function parseArgs(command: string, spec: CommandSpec, argv: string[]): Args {
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith("--")) throw new commands.CertsError(`unexpected argument '${token}'; options start with -- (see \`npm run certs -- ${command} --help\`)`);
    const [name, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const option = spec.options[name];
    if (!option) throw new commands.CertsError(`unknown option --${name} for \`certs ${command}\`; see \`npm run certs -- ${command} --help\``);
    if (option.kind === "flag") {
      args[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) throw new commands.CertsError(`--${name} needs a value`);
    if (option.kind === "number") {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new commands.CertsError(`--${name} '${value}' is not a positive whole number`);
      args[name] = n;
    } else if (option.kind === "list") args[name] = [...((args[name] as string[] | undefined) ?? []), value];
    else args[name] = value;
  }
  return args;
}

/** Runs one CLI invocation; resolves to the exit code. Lines go to `out`, errors to `err`. */
export async function main(argv: string[], out: commands.Log = (l) => console.log(l), err: commands.Log = (l) => console.error(l)): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    out(usage());
    return name ? 0 : 2;
  }
  const spec = COMMANDS[name];
  if (!spec) {
    err(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(", ")}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    out(commandHelp(name, spec));
    return 0;
  }
  try {
    await spec.run(parseArgs(name, spec, rest), out);
    return 0;
  } catch (e) {
    if (e instanceof commands.CertsError) {
      err(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? `error: ${e.message}` : e);
      process.exit(1);
    },
  );
}
