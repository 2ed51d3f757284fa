// `npm run iotcore -- --state <dir> [--host 127.0.0.1] [--mqtt-port 8883] [--https-port 4443]
//   [--control-port 4480] [--region us-east-1] [--account 123456789012] [--provisioning-delay-ms 1000]`
// Prints one JSON line with the endpoints when ready; log lines go to stderr.
import { parseArgs } from "node:util";
import { startIotCore } from "./index.js";

const { values } = parseArgs({
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

if (values.help || !values.state) {
  process.stderr.write("usage: npm run iotcore -- --state <dir> [--host 127.0.0.1] [--mqtt-port 8883] [--https-port 4443] [--control-port 4480] [--region us-east-1] [--account 123456789012] [--provisioning-delay-ms 1000]\n");
  process.exit(values.help ? 0 : 2);
}

const core = await startIotCore({
  stateDir: values.state,
  host: values.host,
  ports: { mqtt: Number(values["mqtt-port"]), https: Number(values["https-port"]), control: Number(values["control-port"]) },
  region: values.region,
  accountId: values.account,
  provisioningDelayMs: Number(values["provisioning-delay-ms"]),
  log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
});

process.stdout.write(`${JSON.stringify({
  endpoint: core.endpoint, host: values.host, ports: core.ports, controlUrl: core.controlUrl,
  serverCaFile: `${values.state}/server/root-ca.pem`, region: core.region, accountId: core.accountId,
})}\n`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void core.close().then(() => process.exit(0)));
}
