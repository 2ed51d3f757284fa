// `npm run iotcore -- --state <dir> [options]` (`--help` lists them): the local AWS IoT Core
// stand-in on loopback. Prints one JSON line with the endpoints and the AWS CLI files holding the
// account's key when ready; log lines go to stderr (one JSON object per line with --log-format
// json). --no-auth accepts unsigned control-plane requests (said in the ready line and the log).
import { ACCOUNT_LIMIT_OPTIONS, accountLimitsFrom } from "../cli/account-limits.js";
import { CliError, commandLine, UsageError, required, runCli, wholeNumber, type CommandSpec } from "../cli/command-line.js";
import { startIotCore } from "./index.js";
import { formatLogLine } from "./log.js";
import { explainStartupFailure } from "./startup-failure.js";

const COMMAND = {
  name: "npm run iotcore --",
  summary: "Starts the local AWS IoT Core stand-in and prints its endpoints as one JSON line; log lines go to stderr.",
  options: {
    state: { value: "DIR", help: "where the registry and the server PKI live (required; created when missing)" },
    host: { value: "ADDRESS", help: "address to listen on (default 127.0.0.1)" },
    "mqtt-port": { value: "PORT", help: 'the "8883" listener (default 8883; 0 picks a free port)' },
    "https-port": { value: "PORT", help: 'the "443" listener: ALPN, custom auth, WebSocket (default 4443)' },
    "https-mtls-port": { value: "PORT", help: 'the "8443" listener: HTTPS publish with a client certificate (default 8443)' },
    "control-port": { value: "PORT", help: "the control plane, for aws iot --endpoint-url (default 4480)" },
    region: { value: "REGION", help: "AWS region in ARNs and the endpoint name (default us-east-1)" },
    "account-id": { value: "ID", help: "12-digit account id in ARNs (default 123456789012)" },
    "provisioning-delay-ms": { value: "MS", help: "how long JITP/JITR take (default 1000)" },
    "log-format": { value: "FORMAT", help: "text (default: time and line) or json (one object per line: time, event, message, and the decision's fields)" },
    "no-auth": { kind: "flag", help: "accept unsigned and wrongly signed control-plane requests (quick experiments only)" },
    ...ACCOUNT_LIMIT_OPTIONS,
  },
} satisfies CommandSpec;

async function main(): Promise<number> {
  const parsed = commandLine(COMMAND, process.argv.slice(2));
  if (!parsed) return 0;
  const { values } = parsed;
  const stateDir = required(values.state, "state", "the folder where the stand-in keeps its registry and server PKI, e.g. --state .state/iotcore");
  const host = values.host ?? "127.0.0.1";
  const ports = {
    mqtt: wholeNumber("mqtt-port", values["mqtt-port"] ?? "8883", 0, 65535),
    https: wholeNumber("https-port", values["https-port"] ?? "4443", 0, 65535),
    httpsMtls: wholeNumber("https-mtls-port", values["https-mtls-port"] ?? "8443", 0, 65535),
    control: wholeNumber("control-port", values["control-port"] ?? "4480", 0, 65535),
  };
  const logFormat = values["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json") throw new UsageError(`--log-format must be text or json, not "${logFormat}"`);
  const provisioningDelayMs = wholeNumber("provisioning-delay-ms", values["provisioning-delay-ms"] ?? "1000", 0, 3_600_000);

  const core = await startIotCore({
    stateDir,
    host,
    ports,
    region: values.region ?? "us-east-1",
    accountId: values["account-id"] ?? "123456789012",
    provisioningDelayMs,
    authenticate: !values["no-auth"],
    accountLimits: accountLimitsFrom(values),
    log: (line, fields) => process.stderr.write(`${formatLogLine(line, logFormat, new Date(), fields)}\n`),
  }).catch((error: unknown): never => {
    const sentence = explainStartupFailure(error, { stateDir, host });
    throw sentence ? new CliError(sentence) : error;
  });

  process.stdout.write(`${JSON.stringify({
    endpoint: core.endpoint, host, ports: core.ports, controlUrl: core.controlUrl, consoleUrl: core.consoleUrl,
    serverCaFile: `${stateDir}/server/root-ca.pem`, region: core.region, accountId: core.accountId,
    authentication: core.authenticates ? "SigV4 required" : "OFF (--no-auth): unsigned requests accepted",
    accessKeyId: core.accountKey.accessKeyId,
    accountLimits: core.accountLimits,
    awsCli: `AWS_SHARED_CREDENTIALS_FILE=${core.cliFiles.credentialsFile} AWS_CONFIG_FILE=${core.cliFiles.configFile} aws iot list-things --endpoint-url ${core.controlUrl}`,
  })}\n`);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void core.close().then(() => process.exit(0)));
  }
  return new Promise<number>(() => {});
}

runCli("npm run iotcore", main, COMMAND);
