// A fleet run: the stand-in in its own process with the account's limits, N devices of the
// unchanged firmware (credentials made once and kept in the state folder), a subscriber that
// counts what arrives, an optional stand-in restart in the middle, and the report.
//
// State folder layout: `credentials/` (device CA, keys and certificates: kept between runs),
// `run/` (this run's stand-in state, device storage and logs: made fresh each run).

import { createHash } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AttachPolicyCommand, CreatePolicyCommand } from "@aws-sdk/client-iot";
import { layout } from "../../certs/commands.js";
import { fromPem } from "../../certs/pki.js";
import type { DeviceStatus } from "../../firmware/boot/status.js";
import { controlClient, prepareDemo, type CoreEndpoints, type DemoSetup } from "../cli/demo-setup.js";
import type { Mode, Provisioning } from "../cli/modes.js";
import { fleetManifest, modeManifest } from "../runtime/composition.js";
import type { AccountLimits } from "../iotcore/index.js";
import { bootFleet, type RunningDevice } from "./devices.js";
import { reportChart } from "./chart.js";
import { policyParams, recordAttemptLine } from "./backoff-check.js";
import { buildReport, type DeviceRecord, type FleetReport } from "./report.js";
import type { ConnectRecord } from "./standin.js";
import { StandInProcess } from "./standin-process.js";
import { SUBSCRIBER_CLIENT_ID, TelemetrySubscriber } from "./subscriber.js";

export interface FleetOptions {
  devices: number;
  provisioning: Provisioning;
  mode: Mode;
  durationS: number;
  /** restart the stand-in this many seconds after power-on */
  restartAtS?: number;
  /** the folder with `credentials/` (kept) and `run/` (fresh each run) */
  state: string;
  /** where report.json and report.svg go */
  out: string;
  /** devices that run inside XS (the first ones); the rest under Node */
  xsDevices: number;
  limits: Partial<AccountLimits>;
  telemetryIntervalMs: number;
  seed: number;
  /** JITP/JITR work time in the stand-in (ms) */
  provisioningDelayMs: number;
  /** the devices' provisioningAttempts; default: enough for the batch (provisioningAttemptsFor) */
  provisioningAttempts?: number;
  say: (line: string) => void;
}

/**
 * How many attempts a device not yet provisioned needs so that it is still trying when the
 * account gets to it: a batch of `devices` is provisioned at `perSecond` at best, and under
 * the firmware's default backoff (1 s base, 60 s cap, after a 1 s spacing) the first 6 attempts
 * span about 38 s and each later one about 31 s. Three times the best case leaves room for the
 * slots a device misses while it waits; never fewer than the firmware's default of 10.
 * (Measured: 1,000 devices at 10 per second with the default 10 attempts left 11 of them
 * "gave-up": docs/fleet.md.)
 */
export function provisioningAttemptsFor(devices: number, perSecond: number): number {
  const windowS = (3 * devices) / perSecond;
  return Math.min(1000, Math.max(10, 6 + Math.ceil((windowS - 38) / 31)));
}

/**
 * The device config a fleet device runs with: the firmware's own defaults for pacing, attempts
 * for the batch, logs at info (the connection loop's line per attempt is the device's record of
 * its CONNECTs that the backoff check reads; nothing is logged per message at info).
 */
function fleetConfig(options: FleetOptions, registrationsPerSecond: number): Record<string, unknown> {
  return {
    telemetryIntervalMs: options.telemetryIntervalMs,
    // The firmware's defaults (firmware/config/config.ts), not the single-device demo's faster pace.
    backoffBaseMs: 1000, backoffCapMs: 60_000, provisioningGraceMs: 60_000,
    provisioningAttempts: options.provisioningAttempts ?? provisioningAttemptsFor(options.devices, registrationsPerSecond),
    logLevel: "info",
  };
}

/** Runs the fleet and writes the report; resolves the report. Rejects on a set-up failure (the stand-in, the credentials). */
export async function runFleet(options: FleetOptions): Promise<FleetReport> {
  const { say } = options;
  const runDir = join(options.state, "run");
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  mkdirSync(options.out, { recursive: true });
  const connects: ConnectRecord[] = [];
  say(`== stand-in (own process, state in ${join(runDir, "iotcore")}, log ${join(runDir, "iotcore.log")})`);
  const standIn = await StandInProcess.start({
    stateDir: join(runDir, "iotcore"), ports: { mqtt: 0, https: 0, httpsMtls: 0, control: 0 }, accountLimits: options.limits,
    provisioningDelayMs: options.provisioningDelayMs, logFile: join(runDir, "iotcore.log"),
  }, (records) => connects.push(...records));
  let devices: RunningDevice[] = [];
  let subscriber: TelemetrySubscriber | undefined;
  try {
    const ready = standIn.ready;
    const limits = ready.accountLimits;
    say(`   endpoint ${ready.endpoint}, mqtt 127.0.0.1:${ready.ports.mqtt}; account limits: ${limits.connectsPerSecond} connects/s, ${limits.publishesPerSecond} publishes/s, ${limits.subscriptionsPerSecond} subscriptions/s, ${limits.registrationsPerSecond} provisioning/s`);
    const core: CoreEndpoints = {
      endpoint: ready.endpoint, controlUrl: ready.controlUrl, serverCaPem: ready.serverCaPem, ports: ready.ports, accountKey: ready.accountKey,
      broker: { onMessage: () => () => undefined },
      cognito: { hostName: ready.endpoint, createIdentityPool: () => { throw new Error("the fleet run sets up Cognito through the control plane"); } },
      auth: { accessKeys: { add: () => undefined } },
    };
    const credentials = join(options.state, "credentials");
    say(`== credentials for ${options.devices} devices (made once, kept in ${credentials})`);
    const setups = await prepareDevices(core, options, credentials, runDir, limits);
    subscriber = await startSubscriber(core, credentials, runDir, say);

    const manifest = options.provisioning === "fleet" ? fleetManifest(options.mode) : modeManifest(options.mode);
    // Devices inside XS log through their worker, late by a varying amount: their attempts are not timed from their log.
    const records: DeviceRecord[] = setups.map((s, i) => ({
      thingName: s.thingName, clientIds: [...new Set([deviceName(i, options.devices), s.thingName])], engine: "node", statuses: [], acked: [], produced: 0, queued: 0,
      ...(i < options.xsDevices ? {} : { attempts: [] }),
    }));
    const deviceLog = createWriteStream(join(runDir, "devices.log"));
    say(`== ${options.devices} devices power on at once (${Math.min(options.xsDevices, options.devices)} inside XS), telemetry every ${options.telemetryIntervalMs} ms, for ${options.durationS} s${options.restartAtS !== undefined ? `; the stand-in restarts at ${options.restartAtS} s` : ""}`);
    const startedAt = Date.now();
    devices = await bootFleet(setups.map((s) => ({ thingName: s.thingName, config: s.config, image: s.image })), {
      manifest, storageDir: join(runDir, "devices"), seed: options.seed, xsDevices: options.xsDevices,
    }, {
      onStatus: (i, status: DeviceStatus, at) => {
        const record = records[i];
        if (record.statuses.at(-1)?.[1] !== status.state) record.statuses.push([at, status.state]);
        record.lastCode = status.code;
        record.lastMessage = status.message;
      },
      onAcked: (i, seq, at) => {
        records[i].acked.push(seq);
        records[i].firstAckAt ??= at;
      },
      onLog: (i, line) => {
        const at = Date.now();
        const attempts = records[i].attempts;
        if (attempts) recordAttemptLine(attempts, line, at);
        deviceLog.write(`${new Date(at).toISOString()} ${records[i].thingName} ${line}\n`);
      },
    });
    devices.forEach((d, i) => (records[i].engine = d.engine));

    const onlineSamples: [number, number][] = [];
    const countOnline = () => records.filter((r) => r.statuses.at(-1)?.[1] === "online").length;
    let lastReported = -1;
    const sampler = setInterval(() => {
      const seconds = Math.round((Date.now() - startedAt) / 100) / 10;
      const online = countOnline();
      onlineSamples.push([seconds, online]);
      if (Math.floor(seconds / 5) !== lastReported) {
        lastReported = Math.floor(seconds / 5);
        say(`   ${seconds.toFixed(0).padStart(4)} s: ${online} online, ${connects.filter(([, clientId]) => clientId !== SUBSCRIBER_CLIENT_ID).length} CONNECTs so far, ${records.reduce((n, r) => n + r.acked.length, 0)} messages acknowledged`);
      }
    }, 500);

    let restart: { at: number; listeningAt: number } | undefined;
    if (options.restartAtS !== undefined) {
      await sleep(startedAt + options.restartAtS * 1000 - Date.now());
      const at = Date.now();
      say(`== the stand-in restarts (${countOnline()} devices online)`);
      await standIn.restart();
      restart = { at, listeningAt: Date.now() };
      say(`   listening again after ${restart.listeningAt - at} ms`);
    }
    await sleep(startedAt + options.durationS * 1000 - Date.now());
    clearInterval(sampler);
    onlineSamples.push([Math.round((Date.now() - startedAt) / 100) / 10, countOnline()]);
    const endedAt = Date.now();
    // Final states before the devices stop (stopping reports "stopped").
    const finalStatuses = records.map((r) => [...r.statuses]);
    for (const [i, d] of devices.entries()) {
      const { produced, queued } = await d.telemetry();
      Object.assign(records[i], { produced, queued });
    }
    say(`== stopping the devices; waiting for the subscriber to receive what was acknowledged`);
    await Promise.all(devices.map((d) => d.stop().catch(() => undefined)));
    devices = [];
    records.forEach((r, i) => (r.statuses = finalStatuses[i]));
    const waitUntil = Date.now() + 10_000;
    while (Date.now() < waitUntil && records.some((r) => r.acked.some((seq) => !subscriber!.has(r.thingName, seq)))) await sleep(250);
    deviceLog.end();
    const witness = subscriber;
    await subscriber.stop();
    subscriber = undefined;
    const usage = await standIn.usage();
    const runnerCpu = process.cpuUsage();
    const report = buildReport({
      devices: options.devices, provisioning: options.provisioning, mode: options.mode, engine: options.xsDevices > 0 ? `xs (${Math.min(options.xsDevices, options.devices)}) + node` : "node",
      durationS: options.durationS, seed: options.seed, telemetryIntervalMs: options.telemetryIntervalMs,
      provisioningAttempts: Number(setups[0].config.provisioningAttempts), startedAt, endedAt, restart, limits,
      standIn: usage, runner: { cpuMs: Math.round((runnerCpu.user + runnerCpu.system) / 1000), peakRssBytes: process.memoryUsage().rss },
      onlineSamples, policy: policyParams(setups[0].config),
    }, records, connects, witness, [SUBSCRIBER_CLIENT_ID]);
    writeFileSync(join(options.out, "report.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(options.out, "report.svg"), reportChart(report));
    return report;
  } finally {
    for (const d of devices) await d.stop().catch(() => undefined);
    await subscriber?.stop().catch(() => undefined);
    await standIn.stop();
  }
}

/** Thing names: fleet-0000, fleet-0001, ... (fleet provisioning: the serial numbers; the things are device-<serial>). */
export function deviceName(index: number, devices: number): string {
  return `fleet-${String(index).padStart(Math.max(4, String(devices - 1).length), "0")}`;
}

/**
 * Each device's credentials image and config, through the same set-up as `npm start` (the
 * certs library and the control plane); keys and certificates already in `credentials` are
 * kept. Key generation runs a few at a time.
 */
async function prepareDevices(core: CoreEndpoints, options: FleetOptions, credentials: string, runDir: string, limits: AccountLimits): Promise<DemoSetup[]> {
  const setups: DemoSetup[] = [];
  const config = fleetConfig(options, limits.registrationsPerSecond);
  options.say(`   device config: ${JSON.stringify(config)}`);
  const one = (index: number) => prepareDemo(core, {
    mode: options.mode, provisioning: options.provisioning, thingName: deviceName(index, options.devices),
    // A batch's claim is registered with this run's stand-in through CreateKeysAndCertificate, so it is made per run.
    outDir: options.provisioning === "fleet" ? join(runDir, "credentials") : credentials,
    iotcoreStateDir: join(runDir, "iotcore"), config, reuseDevice: true, batchReady: index > 0,
    say: index === 0 ? options.say : undefined,
  });
  setups.push(await one(0));
  const started = Date.now();
  for (let next = 1; next < options.devices; next += 4) {
    const batch = await Promise.all([0, 1, 2, 3].map((k) => next + k).filter((i) => i < options.devices).map(one));
    setups.push(...batch);
    if (setups.length % 200 < 4 && Date.now() - started > 2000) options.say(`   ${setups.length} of ${options.devices} ready`);
  }
  return setups;
}

/**
 * The subscriber's certificate (kept with the fleet's credentials), registered ACTIVE with a
 * policy to connect as itself and receive every thing's telemetry, and the subscriber connected.
 */
async function startSubscriber(core: CoreEndpoints, credentials: string, runDir: string, say: (line: string) => void): Promise<TelemetrySubscriber> {
  const setup = await prepareDemo(core, { mode: "mtls", provisioning: "none", outDir: credentials, thingName: SUBSCRIBER_CLIENT_ID, iotcoreStateDir: join(runDir, "iotcore"), reuseDevice: true });
  const files = layout(join(credentials, "none")).device(SUBSCRIBER_CLIENT_ID);
  const certPem = readFileSync(files.chainPem, "utf8");
  const certificateId = createHash("sha256").update(fromPem(certPem)[0]).digest("hex");
  const iot = controlClient(core);
  try {
    const policyName = "fleet-subscriber-receive";
    const arn = (kind: string, name: string) => `arn:aws:iot:us-east-1:123456789012:${kind}/${name}`;
    await iot.send(new CreatePolicyCommand({ policyName, policyDocument: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "iot:Subscribe", Resource: arn("topicfilter", "+/telemetry") },
        { Effect: "Allow", Action: "iot:Receive", Resource: arn("topic", "*/telemetry") },
      ],
    }) }));
    await iot.send(new AttachPolicyCommand({ policyName, target: arn("cert", certificateId) }));
  } finally {
    iot.destroy();
  }
  say(`== subscriber ${setup.thingName} (mqtt.js, persistent session) on +/telemetry`);
  return TelemetrySubscriber.start({
    host: "127.0.0.1", port: core.ports.mqtt, serverName: core.endpoint, serverCaPem: core.serverCaPem,
    certPem, keyPem: readFileSync(files.keyPem, "utf8"),
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((wake) => setTimeout(wake, Math.max(0, ms)));
}
