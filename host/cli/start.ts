// `npm start`: the main job on an embedded default. Starts the local AWS IoT Core stand-in,
// creates development credentials and registers the CA with a JITP template when the state
// directory has none, then runs a fresh device (the unchanged firmware, under Node or in XS)
// through provisioning into telemetry, printing each step. The device is the build
// manifests/modes/<mode>.json composes (that mode only) with the Device Shadow feature; once
// telemetry flows, an operator changes its desired telemetry interval through the data-plane
// API and the device applies and reports it.
//
//   npm start -- [--mode M] [--provisioning P] [--engine xs|node] [--messages N] [--json] [--state DIR]
//   (`npm start -- --help` lists them)

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { isFinal, type DeviceStatus } from "../../firmware/boot/status.js";
import { RESOURCE_NAME } from "../../firmware/credentials/format.js";
import { createNodePlatform } from "../runtime/node/platform.js";
import { runDeviceInXs } from "../runtime/xs/device.js";
import { fleetManifest, loadComposition, modeManifest } from "../runtime/composition.js";
import { DEMO_DESIRED_INTERVAL_MS, demoHasShadow, shadowOperator, writeDemoManifest } from "./demo-shadow.js";
import { startIotCore } from "../iotcore/index.js";
import { explainStartupFailure } from "../iotcore/startup-failure.js";
import { CliError, commandLine, oneOf, runCli, wholeNumber, type CommandSpec } from "./command-line.js";
import { prepareDemo, type DemoSetup } from "./demo-setup.js";
import { isHttpsMode, modeAndProvisioning, MODES, type Mode, type Provisioning } from "./modes.js";

const ENGINES = ["xs", "node"] as const;
/** How long the stand-in takes to provision a certificate (JITP/JITR), as AWS takes a moment. */
const PROVISIONING_DELAY_MS = 300;
/** How long the demo waits for the device to report the interval the operator asked for. */
const SHADOW_WAIT_MS = 15_000;

interface Options {
  mode: Mode;
  provisioning: Provisioning;
  engine: (typeof ENGINES)[number];
  messages: number;
  json: boolean;
  state: string;
  console: boolean;
}

const COMMAND = {
  name: "npm start --",
  summary: "Starts the local AWS IoT Core stand-in and runs a fresh device into telemetry.",
  options: {
    mode: { value: "MODE", help: `how the device connects, one of ${MODES.join(", ")} (default mtls): mtls and mtls-alpn use a device certificate; custom-auth and wss-custom-auth a signed token and a custom authorizer; wss-sigv4 Cognito credentials; the https-* modes publish over HTTPS (https-mtls on 8443, https-mtls-alpn with ALPN x-amzn-http-ca, https-sigv4 Cognito credentials like wss-sigv4, https-custom-auth the authorizer) and sleep between posts` },
    provisioning: { value: "KIND", help: "for the certificate modes: jitp (default), jitr, fleet (provisioning by claim) or none; the other modes take none only" },
    engine: { value: "ENGINE", help: "xs (default): the firmware inside the real XS engine; node: the same sources under Node" },
    messages: { value: "N", help: "exit 0 after N acknowledged telemetry messages (default 5)" },
    json: { kind: "flag", help: "the last line of stdout is a JSON summary" },
    state: { value: "DIR", help: "where credentials and stand-in state live (default .state/demo)" },
    console: { kind: "flag", help: "print the stand-in's web console URL and keep the stand-in running after the demo (Ctrl-C stops it)" },
  },
} satisfies CommandSpec;

/** The options, or undefined after --help was printed. Throws UsageError. */
function parseOptions(argv: string[]): Options | undefined {
  const parsed = commandLine(COMMAND, argv);
  if (!parsed) return undefined;
  const { values } = parsed;
  const { mode, provisioning } = modeAndProvisioning(values, "mtls");
  return {
    mode,
    provisioning,
    engine: oneOf("engine", values.engine ?? "xs", ENGINES),
    messages: wholeNumber("messages", values.messages ?? "5", 1, 100_000),
    json: values.json === true,
    state: values.state ?? join(".state", "demo"),
    console: values.console === true,
  };
}

async function main(): Promise<number> {
  // The AWS SDK warns that its releases after January 2027 need Node 22; the lockfile pins a
  // release that runs on Node 20, so the notice would only bury the demo's first lines.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const options = parseOptions(process.argv.slice(2));
  if (!options) return 0;
  const say = (line: string) => console.log(line);
  const started = Date.now();
  say(`== local AWS IoT Core stand-in (state in ${options.state})`);
  const core = await startStandIn(options.state, say);
  say(`   endpoint ${core.endpoint}: mqtt 127.0.0.1:${core.ports.mqtt}, https 127.0.0.1:${core.ports.https}, https-mtls 127.0.0.1:${core.ports.httpsMtls}, control ${core.controlUrl}`);
  if (options.console) say(`   console ${core.consoleUrl}`);

  const seen = new Set<number>();
  let duplicates = 0;
  let setup: DemoSetup;
  try {
    say(`== credentials and registration (${options.mode}, provisioning ${options.provisioning})`);
    setup = await prepareDemo(core, { mode: options.mode, provisioning: options.provisioning, outDir: join(options.state, "dev"), iotcoreStateDir: join(options.state, "iotcore"), thingName: `demo-${randomBytes(3).toString("hex")}`, say });
  } catch (e) {
    await core.close();
    // A credential file in the state folder that cannot be used: npm start made it, so it can make it again.
    if (e instanceof CliError) throw new CliError(`setup failed: ${e.message}. npm start keeps these files in ${join(options.state, "dev")}: delete that folder and it makes new ones`);
    say(`setup failed: ${(e as Error).message}`);
    return 1;
  }
  const telemetryTopic = `${setup.thingName}/telemetry`;
  core.broker.onMessage((message) => {
    if (message.topic !== telemetryTopic) return;
    const seq = (JSON.parse(message.payload.toString("utf8")) as { seq: number }).seq;
    if (seen.has(seq)) duplicates += 1;
    seen.add(seq);
  });

  // Once telemetry flows, an operator changes the device's desired interval through the
  // data-plane API; the run ends when the device has applied and reported it, too. (The HTTPS
  // modes have no MQTT session, so no shadow feature.)
  const withShadow = demoHasShadow(options.mode);
  const operator = shadowOperator(core, setup.thingName, core.accountKey);
  let ackedOnce: () => void = () => {};
  const firstAck = new Promise<void>((resolve) => { ackedOnce = resolve; });
  const shadowApplied = !withShadow ? Promise.resolve() : (async () => {
    await firstAck;
    const version = await operator.requestInterval(DEMO_DESIRED_INTERVAL_MS);
    say(`   operator| UpdateThingShadow ${setup.thingName}: desired telemetryIntervalMs ${DEMO_DESIRED_INTERVAL_MS} (shadow version ${version})`);
    const reported = await operator.reported(DEMO_DESIRED_INTERVAL_MS, SHADOW_WAIT_MS);
    say(`   operator| ${reported ? `the device reported telemetryIntervalMs ${DEMO_DESIRED_INTERVAL_MS}` : `no report of the new interval within ${SHADOW_WAIT_MS / 1000} s`}`);
  })().catch((e: Error) => say(`   operator| the shadow update failed: ${e.message}`));

  say(`== device ${setup.thingName} (engine ${options.engine}${withShadow ? ", features: shadow" : ""})`);
  const result = await runDevice(options, setup, say, { onFirstAck: () => ackedOnce(), alsoWaitFor: shadowApplied });
  const shadow = withShadow ? await operator.summary() : {};
  operator.close();
  if (!options.console) await core.close();

  const ackedSeqs = result.ackedSeqs;
  const lost = [...ackedSeqs].filter((seq) => !seen.has(seq)).length;
  const summary = {
    ok: result.acked >= options.messages && lost === 0 && (!withShadow || shadow.appliedIntervalMs === DEMO_DESIRED_INTERVAL_MS),
    mode: options.mode,
    provisioning: options.provisioning,
    engine: options.engine,
    thing: setup.thingName,
    connectAttempts: result.attempts,
    provisioned: result.provisioned,
    acked: result.acked,
    // HTTPS modes: readings taken and queued, readings a 200 answered, readings still queued.
    ...(isHttpsMode(options.mode) ? { posted: result.telemetry?.produced ?? 0, answered: result.acked, unposted: result.telemetry?.queued ?? 0 } : {}),
    lost,
    duplicatesAtSubscriber: duplicates,
    provisioningDelayMs: options.provisioning === "none" ? 0 : PROVISIONING_DELAY_MS,
    firstTelemetryMs: result.firstAckMs,
    shadowVersion: shadow.shadowVersion,
    appliedIntervalMs: shadow.appliedIntervalMs,
    status: result.status.state,
    code: result.status.code,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  say(`== ${summary.ok ? "done" : "FAILED"}: ${summary.acked} telemetry messages acknowledged, ${lost} lost, ${summary.connectAttempts} connection attempts, first after ${summary.firstTelemetryMs ?? "-"} ms, shadow version ${summary.shadowVersion ?? "-"} with interval ${summary.appliedIntervalMs ?? "-"} ms applied, status ${summary.status}${summary.code ? ` (${summary.code})` : ""}`);
  if (!summary.ok && result.status.message) say(`   ${result.status.message}`);
  if (options.console) say(`== the stand-in keeps running: console ${core.consoleUrl} (Ctrl-C stops it)`);
  if (options.json) console.log(JSON.stringify(summary));
  if (options.console) await untilStopped(() => core.close());
  return summary.ok ? 0 : 1;
}

/** Resolves after SIGINT or SIGTERM, once `close` has finished. */
function untilStopped(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => void close().finally(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

/** The stand-in on ephemeral loopback ports with its state under `stateDir`; throws CliError naming what is wrong with the folder. */
async function startStandIn(stateDir: string, say: (line: string) => void) {
  try {
    mkdirSync(stateDir, { recursive: true });
    return await startIotCore({
      stateDir: join(stateDir, "iotcore"),
      host: "127.0.0.1",
      ports: { mqtt: 0, https: 0, control: 0 },
      region: "us-east-1",
      accountId: "123456789012",
      provisioningDelayMs: PROVISIONING_DELAY_MS,
      log: (line) => say(`   iotcore | ${line}`),
    });
  } catch (error) {
    const sentence = explainStartupFailure(error, { stateDir, host: "127.0.0.1" });
    throw sentence ? new CliError(sentence) : error;
  }
}

interface RunResult {
  status: DeviceStatus;
  telemetry?: { produced: number; queued: number };
  attempts: number;
  provisioned: boolean;
  acked: number;
  ackedSeqs: Set<number>;
  /** From boot to the first acknowledged telemetry message. */
  firstAckMs?: number;
}

/** Boots the firmware (inside XS or under Node) and waits for N acknowledged messages or a final status. */
async function runDevice(options: Options, setup: DemoSetup, say: (line: string) => void, demo: { onFirstAck(): void; alsoWaitFor: Promise<unknown> }): Promise<RunResult> {
  const storageDir = join(options.state, "devices", setup.thingName);
  // The device's build: its mode and the Device Shadow feature (manifests/features/shadow.json).
  const manifest = writeDemoManifest(join(options.state, "builds", `${options.mode}-${options.provisioning}`), options.mode, {}, [], manifestOf(options));
  if (!existsSync(storageDir)) mkdirSync(storageDir, { recursive: true });
  const log = (line: string) => say(`   device  | ${line}`);
  const ackedSeqs = new Set<number>();
  const bootedAt = Date.now();
  let firstAckMs: number | undefined;
  let finish: (status: DeviceStatus) => void = () => {};
  const outcome = new Promise<DeviceStatus>((resolve) => {
    const limit = setTimeout(() => resolve({ state: "stopped", code: "demo-timeout", message: "No result within 120 s.", attempts: 0 }), 120_000);
    finish = (status) => { clearTimeout(limit); resolve(status); };
  });
  let lastStatus: DeviceStatus | undefined;
  const events = {
    onStatus: (status: DeviceStatus) => {
      lastStatus = status;
      say(`   status  | ${status.state}${status.code ? ` (${status.code})` : ""}: ${status.message}`);
      if (isFinal(status.state)) finish(status);
    },
    onAcked: (seq: number) => {
      ackedSeqs.add(seq);
      firstAckMs ??= Date.now() - bootedAt;
      say(`   acked   | telemetry #${seq}`);
      if (ackedSeqs.size === 1) demo.onFirstAck();
      if (ackedSeqs.size === options.messages) void demo.alsoWaitFor.then(() => finish(lastStatus ?? { state: "online", message: "telemetry acknowledged", attempts: 0 }));
    },
  };
  let info: () => Promise<{ attempts: number; provisioned: boolean; telemetry?: { produced: number; queued: number } }>;
  let stop: () => Promise<void>;
  if (options.engine === "xs") {
    const device = await runDeviceInXs({
      manifest,
      config: setup.config, credentialsImage: setup.image, storageDir, log, ...events,
      onFailure: (error) => finish({ state: "stopped", code: "xs-failure", message: `The XS engine failed: ${error.message}`, attempts: 0 }),
    });
    info = () => device.info();
    stop = () => device.stop();
  } else {
    const platform = createNodePlatform({ storageDir, log });
    const { boot, features, startFeatures } = await loadComposition(manifest);
    const device = boot(platform, {
      config: setup.config,
      credentialSources: { resource: (name) => (name === RESOURCE_NAME ? setup.image : undefined) },
      features,
      startFeatures,
    }, events);
    info = async () => device;
    stop = async () => device.stop();
  }
  const status = await outcome;
  const { attempts, provisioned, telemetry } = await info().catch(() => ({ attempts: status.attempts, provisioned: false, telemetry: undefined }));
  await stop().catch((e: Error) => say(`   device stopped with an error: ${e.message}`));
  // Give the broker a moment to route the last acknowledged messages to the listener.
  await new Promise((wake) => setTimeout(wake, 200));
  return { status, attempts, provisioned, telemetry, acked: ackedSeqs.size, ackedSeqs, firstAckMs };
}

/** The device's build: its mode, and fleet provisioning's feature module when it provisions by claim. */
function manifestOf(options: Options): string {
  return options.provisioning === "fleet" ? fleetManifest(options.mode) : modeManifest(options.mode);
}

runCli("npm start", main, COMMAND);
