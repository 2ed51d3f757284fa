// `npm run fleet`: many devices of the unchanged firmware against one stand-in that enforces
// AWS IoT Core's account-level limits, with an optional stand-in restart, and a report
// (report.json and report.svg; `--json` prints it). docs/fleet.md explains the figures.
//
//   npm run fleet -- --devices N [--provisioning jitp|jitr|fleet|none] [--mode M] [--duration S] [--chaos restart@T] [--json] [--out DIR]
//   (`npm run fleet -- --help` lists them)

import { join } from "node:path";
import { ACCOUNT_LIMIT_OPTIONS, accountLimitsFrom } from "./account-limits.js";
import { explainStartupFailure } from "../iotcore/startup-failure.js";
import { runFleet } from "../fleet/run.js";
import { CliError, commandLine, oneOf, runCli, UsageError, wholeNumber, type CommandSpec } from "./command-line.js";
import { isHttpsMode, modeAndProvisioning, MODES } from "./modes.js";

const ENGINES = ["node", "xs"] as const;

const COMMAND = {
  name: "npm run fleet --",
  summary: "Runs many devices of the unchanged firmware against one local stand-in with AWS IoT Core's account limits, and reports what happened.",
  options: {
    devices: { value: "N", help: "how many devices power on at once (1 to 5000; default 50)" },
    provisioning: { value: "KIND", help: "jitp (default), jitr, fleet (provisioning by claim) or none (certificates registered beforehand)" },
    mode: { value: "MODE", help: `how the devices connect: one of the MQTT modes ${MODES.filter((m) => !isHttpsMode(m)).join(", ")} (default mtls)` },
    duration: { value: "S", help: "seconds from power-on to the end of the run (10 to 3600; default 60)" },
    chaos: { value: "restart@T", help: "restart the stand-in's process T seconds after power-on (state kept: things, certificates, persistent sessions)" },
    json: { kind: "flag", help: "the last line of stdout is the report as JSON (the progress lines go to stderr)" },
    out: { value: "DIR", help: "where report.json and report.svg go (default <state>/report)" },
    state: { value: "DIR", help: "credentials (kept between runs) and the run's stand-in state (default .state/fleet)" },
    engine: { value: "ENGINE", help: "node (default): every device under Node; xs: the first --xs-workers devices inside the real XS engine, the rest under Node" },
    "xs-workers": { value: "K", help: "with --engine xs, how many devices run in XS (1 to 50; default 10)" },
    "interval-ms": { value: "MS", help: "each device's telemetry interval (default max(1000, 10 x devices): about 100 messages a second in all, AWS's rate for the one subscriber)" },
    ...ACCOUNT_LIMIT_OPTIONS,
    "provisioning-attempts": { value: "N", help: "the devices' provisioningAttempts (default: enough for the batch at the provisioning limit, at least the firmware's 10)" },
    seed: { value: "N", help: "seeds each device's random source (backoff jitter) and clock offset (default 1)" },
  },
  notes: [
    "Exit 0 when every device is online at the end, no acknowledged message was lost and no device sent two CONNECTs within 1 s; 1 otherwise.",
  ],
} satisfies CommandSpec;

/** `restart@T` as T seconds; throws UsageError otherwise. */
function restartAt(text: string | undefined, durationS: number): number | undefined {
  if (text === undefined) return undefined;
  const match = /^restart@(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--chaos ${text} is not understood: the one chaos is restart@T (T seconds after power-on), e.g. --chaos restart@30`);
  const seconds = Number(match[1]);
  if (seconds < 1 || seconds >= durationS) throw new UsageError(`--chaos restart@${seconds} must fall within the run: after 0 and before --duration ${durationS}`);
  return seconds;
}

async function main(): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const parsed = commandLine(COMMAND, process.argv.slice(2));
  if (!parsed) return 0;
  const { values } = parsed;
  const { mode, provisioning } = modeAndProvisioning(values, "mtls");
  if (isHttpsMode(mode)) throw new UsageError(`--mode ${mode} publishes over HTTPS and keeps no connection, so a fleet of it has nothing to be online or to reconnect: pass an MQTT mode (mtls, mtls-alpn, custom-auth, wss-custom-auth, wss-sigv4)`);
  const devices = wholeNumber("devices", values.devices ?? "50", 1, 5000);
  const durationS = wholeNumber("duration", values.duration ?? "60", 10, 3600);
  const engine = oneOf("engine", values.engine ?? "node", ENGINES);
  if (values["xs-workers"] !== undefined && engine !== "xs") throw new UsageError("--xs-workers is for --engine xs: add --engine xs, or leave out --xs-workers");
  const xsDevices = engine === "xs" ? wholeNumber("xs-workers", values["xs-workers"] ?? "10", 1, 50) : 0;
  const limits = accountLimitsFrom(values);
  const state = values.state ?? join(".state", "fleet");
  const json = values.json === true;
  // With --json, stdout carries the report only.
  const say = (line: string) => (json ? process.stderr.write(`${line}\n`) : console.log(line));
  const report = await runFleet({
    devices, provisioning, mode, durationS, restartAtS: restartAt(values.chaos, durationS), state, out: values.out ?? join(state, "report"),
    xsDevices, limits, telemetryIntervalMs: values["interval-ms"] === undefined ? Math.max(1000, 10 * devices) : wholeNumber("interval-ms", values["interval-ms"], 100, 86_400_000),
    seed: wholeNumber("seed", values.seed ?? "1", 0, 2 ** 31 - 1), provisioningDelayMs: 1000, say,
    ...(values["provisioning-attempts"] !== undefined ? { provisioningAttempts: wholeNumber("provisioning-attempts", values["provisioning-attempts"], 1, 1000) } : {}),
  }).catch((error: unknown) => {
    const sentence = explainStartupFailure(error, { stateDir: state, host: "127.0.0.1" });
    throw sentence ? new CliError(sentence) : error;
  });
  const t = report.telemetry;
  const c = report.connects;
  say(`== ${report.ok ? "done" : "FAILED"}: ${report.online.onlineAtEnd} of ${report.run.devices} online at the end; time to online p50 ${report.online.timeToOnlineMs?.p50 ?? "-"} ms, p95 ${report.online.timeToOnlineMs?.p95 ?? "-"} ms, p99 ${report.online.timeToOnlineMs?.p99 ?? "-"} ms; to the first acknowledged message p50 ${report.online.timeToFirstTelemetryMs?.p50 ?? "-"} ms, p95 ${report.online.timeToFirstTelemetryMs?.p95 ?? "-"} ms`);
  say(`   CONNECTs: ${c.total} (${c.throttledByAccount} throttled by the account limit, ${c.throttledByClientId} by the per-client-id limit); per device p50 ${c.perDevice.p50}, p95 ${c.perDevice.p95}, p99 ${c.perDevice.p99}; peak ${c.peakPerSecond}/s, after the first wave ${c.peakAfterFirstWave}/s${c.peakReconnectWave !== undefined ? `, reconnect wave ${c.peakReconnectWave}/s` : ""}; shortest interval between one device's CONNECTs ${c.shortestIntervalMs ?? "-"} ms (${c.under1s.length} under 1 s)`);
  const b = c.backoff;
  say(`   backoff: ${b.retries} retries of ${b.devices} devices checked against the shortest wait their backoff allows, ${b.violationCount} sooner; smallest margin ${b.smallestMarginMs ?? "-"} ms`);
  if (b.unrecorded.length) say(`   no attempt in their own record although the stand-in saw them connect: ${b.unrecorded.slice(0, 10).join(", ")}`);
  for (const v of b.violations.slice(0, 10)) say(`   too early: ${v.thing} attempt ${v.attempt} ${v.intervalMs} ms after the previous one; its backoff allows ${v.boundMs ?? "no retry"}${v.boundMs === null ? "" : " ms at the least"}`);
  say(`   telemetry: ${t.published} published, ${t.acknowledged} acknowledged, ${t.received} received by the subscriber, ${t.lost} lost, ${t.duplicated} duplicated`);
  say(`   stand-in: ${(report.standIn.cpuMs / 1000).toFixed(1)} s CPU, peak RSS ${(report.standIn.peakRssBytes / 1048576).toFixed(0)} MiB; report in ${values.out ?? join(state, "report")}`);
  for (const [check, held] of Object.entries(report.checks)) if (!held) say(`   not met: ${check}`);
  if (json) console.log(JSON.stringify(report));
  return report.ok ? 0 : 1;
}

runCli("npm run fleet", main, COMMAND);
