// `npm run iotcore -- --state <dir> [--host 127.0.0.1] [--mqtt-port 8883] [--https-port 4443]
//   [--control-port 4480] [--region us-east-1] [--account 123456789012] [--provisioning-delay-ms 1000]`
// Prints one JSON line with the endpoints when ready; log lines go to stderr.
import { parseArgs } from "node:util";
import { startIotCore } from "./index.js";

const USAGE = "usage: npm run iotcore -- --state <dir> [--host 127.0.0.1] [--mqtt-port 8883] [--https-port 4443] [--control-port 4480] [--region us-east-1] [--account 123456789012] [--provisioning-delay-ms 1000]\n";

function fail(problem: string): never {
  process.stderr.write(`npm run iotcore: ${problem}\n${USAGE}`);
  process.exit(2);
}

function options() {
  try {
    return parseArgs({
      options: {
        state: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        "mqtt-port": { type: "string", default: "8883" },
        "https-port": { type: "string", default: "4443" },
        "control-port": { type: "string", default: "4480" },
        region: { type: "string", default: "us-east-1" },
        account: { type: "string", default: "123456789012" },
        "provisioning-delay-ms": { type: "string", default: "1000" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    // An unknown option or one missing its value: say which and show the usage, no stack trace.
    return fail((e as Error).message);
  }
}

/** A whole number in [min, max], or the usage naming the option. */
function wholeNumber(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max}, not "${text}"`);
  return n;
}

const { values } = options();

if (values.help || !values.state) {
  process.stderr.write(USAGE);
  process.exit(values.help ? 0 : 2);
}

const ports = {
  mqtt: wholeNumber("mqtt-port", values["mqtt-port"], 0, 65535),
  https: wholeNumber("https-port", values["https-port"], 0, 65535),
  control: wholeNumber("control-port", values["control-port"], 0, 65535),
};
const provisioningDelayMs = wholeNumber("provisioning-delay-ms", values["provisioning-delay-ms"], 0, 3_600_000);

const core = await startIotCore({
  stateDir: values.state,
  host: values.host,
  ports,
  region: values.region,
  accountId: values.account,
  provisioningDelayMs,
  log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
}).catch((e: NodeJS.ErrnoException): never => {
  if (e.code === "EADDRINUSE") fail(`a port is already in use (${e.message}): stop what holds it or choose others with --mqtt-port, --https-port, --control-port (0 picks a free one)`);
  if (e.code === "EACCES") fail(`not allowed to listen (${e.message}): ports under 1024 need root; use high ports`);
  throw e;
});

process.stdout.write(`${JSON.stringify({
  endpoint: core.endpoint, host: values.host, ports: core.ports, controlUrl: core.controlUrl,
  serverCaFile: `${values.state}/server/root-ca.pem`, region: core.region, accountId: core.accountId,
})}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void core.close().then(() => process.exit(0)));
}
