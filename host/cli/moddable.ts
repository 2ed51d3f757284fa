// `npm run sim` and `npm run flash -- <esp32/board>`: the firmware built by the user's Moddable
// SDK ($MODDABLE) for its desktop simulator or an ESP32 board.
//
// sim:   starts the local IoT Core stand-in, prepares a fresh device (CA + JITP template,
//        device certificate, credentials image) as `npm start` does, writes a small manifest in
//        <--state, default .dev/moddable>/sim that includes ours with the stand-in's endpoint and the image as a
//        resource, builds it with `mcconfig -d -m -p <lin|mac|win> -t build` and runs it in mcsim
//        with Moddable's console debugger (xsbug-log), headless under xvfb-run when there is no
//        display. Stops after --messages acknowledged telemetry messages or --timeout seconds.
// flash: builds and deploys with `mcconfig -d -m -p esp32/<board>`, then writes the device's
//        credentials image (from `npm run certs`) at the devcerts partition's offset with esptool.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { commandLine, EXIT_FAILED, EXIT_USAGE, oneOf, runCli, UsageError, wholeNumber, type CommandSpec } from "./command-line.js";
import { defaultProvisioning, isHttpsMode, modeAndProvisioning, MODES, type Mode, type Provisioning } from "./modes.js";
import { creationLimits, judgeMemory, MEASURED_MESSAGES, MEASURED_POINTS, memoryTable, parseMemoryLine, SIM_SLOT_BYTES, type MemoryPoint, type ModeMemory } from "./memory.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The SDK release this firmware is built and verified with; older ones lack TypeScript 6 support. */
export const MIN_SDK_VERSION = "8.2.0";

export interface SdkCheck {
  ok: boolean;
  /** What to tell the user when not ok. */
  message: string;
  moddable?: string;
  version?: string;
}

/** Compares dotted versions; negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function hostPlatform(): "lin" | "mac" | "win" {
  return process.platform === "darwin" ? "mac" : process.platform === "win32" ? "win" : "lin";
}

/** Checks $MODDABLE: set, a Moddable SDK, recent enough, its host tools built. Never throws. */
export function checkSdk(env: NodeJS.ProcessEnv = process.env): SdkCheck {
  const moddable = env.MODDABLE;
  const setup = "install it as its \"Getting Started\" guide says (clone Moddable-OpenSource/moddable, export MODDABLE=<clone>, build the tools in $MODDABLE/build/makefiles/<lin|mac|win>)";
  if (!moddable) return { ok: false, message: `MODDABLE is not set: the Moddable SDK is needed for this command; ${setup}.` };
  const versionFile = join(moddable, "tools", "VERSION");
  if (!existsSync(versionFile)) return { ok: false, message: `MODDABLE=${moddable} is not a Moddable SDK (no tools/VERSION); ${setup}.` };
  const version = readFileSync(versionFile, "utf8").trim();
  if (compareVersions(version, MIN_SDK_VERSION) < 0) {
    return { ok: false, moddable, version, message: `the Moddable SDK at ${moddable} is ${version}, older than ${MIN_SDK_VERSION} (needed for TypeScript 6 modules): update it (git pull) and rebuild its tools.` };
  }
  const mcconfig = join(moddable, "build", "bin", hostPlatform(), "release", hostPlatform() === "win" ? "mcconfig.exe" : "mcconfig");
  if (!existsSync(mcconfig)) {
    return { ok: false, moddable, version, message: `the Moddable SDK tools are not built (no ${mcconfig}): run make in $MODDABLE/build/makefiles/${hostPlatform()}.` };
  }
  return { ok: true, moddable, version, message: `Moddable SDK ${version} at ${moddable}` };
}

/** PATH for mcconfig: the SDK's tools and this project's TypeScript 6 compiler first. */
function toolPath(moddable: string): string {
  return [join(moddable, "build", "bin", hostPlatform(), "release"), join(ROOT, "node_modules", ".bin"), process.env.PATH ?? ""].join(process.platform === "win32" ? ";" : ":");
}

const SIM = {
  name: "npm run sim --",
  summary: "Builds the firmware for Moddable's desktop simulator and runs it against the local IoT Core stand-in (a fresh device, as npm start prepares it).",
  options: {
    mode: { value: "MODE", help: `how the device connects, one of ${MODES.join(", ")} (default mtls-alpn)` },
    provisioning: { value: "KIND", help: "jitp (default), jitr or fleet (provisioning by claim) for the certificate modes, none for the others" },
    messages: { value: "N", help: "stop after N acknowledged telemetry messages (default: run on)" },
    timeout: { value: "S", help: "stop after S seconds (default 300 with --messages, none without)" },
    "thing-name": { value: "NAME", help: "the device's thing name (default sim-<time>)" },
    state: { value: "DIR", help: "where the stand-in's state, the credentials and the simulator app live (default .dev/moddable)" },
    "xsbug-port": { value: "PORT", help: "xsbug-log's port (default: a free one)" },
    memory: { kind: "flag", help: "measure memory (chunk heap, slot heap, stack) at boot, TLS handshake, CONNACK and 20 messages, for --mode or every mode; exit 1 when a peak exceeds the ESP32 creation sizes" },
    json: { kind: "flag", help: "with --memory: the last line of stdout is the figures as JSON" },
    ota: { kind: "flag", help: "build the device with the OTA feature; once telemetry flows, deliver a signed 1 MiB image through a job and a stream and wait for the job to succeed with the new version (MQTT certificate modes)" },
  },
} satisfies CommandSpec;

const FLASH = {
  name: "npm run flash --",
  summary: "Builds and deploys the firmware to an ESP32 board, then writes the device's credentials image into its devcerts partition.",
  positionals: "<esp32/board> [name=value ...]",
  options: {
    mode: { value: "MODE", help: `build the device of this mode only (manifests/modes/MODE.json), one of ${MODES.join(", ")}; default: the five-mode development build (manifest.json)` },
    "thing-name": { value: "NAME", help: "write .dev/devices/NAME/devcerts.bin (from `npm run certs -- image`)" },
    image: { value: "FILE", help: "write this credentials image instead" },
    port: { value: "DEVICE", help: "the board's serial port for esptool.py (default: its own search)" },
  },
  notes: ["name=value arguments are mcconfig config overrides (ssid=..., password=...)."],
} satisfies CommandSpec;

/** The devcerts partition's offset from our ESP32 partition table, or undefined. */
export function credentialsPartitionOffset(csv: string, name = "devcerts"): { offset: number; size: number } | undefined {
  for (const line of csv.split("\n")) {
    const cells = line.split(",").map((c) => c.trim());
    if (cells[0] === name && cells[3] && cells[4]) return { offset: Number(cells[3]), size: Number(cells[4]) };
  }
  return undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): number {
  console.log(`$ ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: "inherit", env, cwd });
  return result.status ?? 1;
}

export interface SimOptions {
  mode: Mode;
  provisioning: Provisioning;
  /** Acknowledged telemetry messages to wait for; 0 runs until --timeout or forever. */
  messages: number;
  timeoutSeconds: number;
  thingName: string;
  /** The stand-in's state, the credentials and the simulator app. */
  stateDir: string;
  /** xsbug-log's port; undefined picks a free one. */
  xsbugPort?: number;
  /** Measure memory in these modes (one run each, 20 messages); absent without --memory. */
  memoryModes?: Mode[];
  json?: boolean;
  /** Deliver an OTA image once telemetry flows (sim-ota.ts). */
  ota?: boolean;
}

/**
 * `npm run sim`'s options: mode mtls-alpn unless told otherwise, provisioning as npm start
 * chooses it (jitp for the certificate modes, none for the others). Undefined after --help was
 * printed; throws UsageError for an unknown or invalid option.
 */
export function simOptions(argv: string[], now = Date.now()): SimOptions | undefined {
  const parsed = commandLine(SIM, argv);
  if (!parsed) return undefined;
  const { values } = parsed;
  const { mode, provisioning } = modeAndProvisioning(values, "mtls-alpn");
  if (values.json && !values.memory) throw new UsageError("--json goes with --memory");
  if (values.ota && (values.memory || isHttpsMode(mode) || !["mtls", "mtls-alpn"].includes(mode))) throw new UsageError("--ota needs an MQTT mode with a device certificate (--mode mtls or mtls-alpn) and no --memory");
  // The probe's points (handshake, CONNACK, 20 messages) are an MQTT session's: every MQTT mode by default.
  const memoryModes = values.memory ? (values.mode === undefined ? MODES.filter((m) => !isHttpsMode(m)) : [mode]) : undefined;
  const messages = memoryModes ? Math.max(MEASURED_MESSAGES, wholeNumber("messages", values.messages ?? "0", 0, 1_000_000)) : wholeNumber("messages", values.messages ?? "0", 0, 1_000_000);
  const timeoutSeconds = wholeNumber("timeout", values.timeout ?? (messages ? "300" : "0"), 0, 86_400);
  const xsbugPort = values["xsbug-port"] === undefined ? undefined : wholeNumber("xsbug-port", values["xsbug-port"], 1, 65535);
  return {
    mode, provisioning, messages, timeoutSeconds,
    thingName: values["thing-name"] ?? `sim-${now.toString(36)}`,
    stateDir: resolve(values.state ?? join(ROOT, ".dev", "moddable")),
    ...(xsbugPort ? { xsbugPort } : {}),
    ...(memoryModes ? { memoryModes, json: values.json ?? false } : {}),
    ...(values.ota ? { ota: true } : {}),
  };
}

/** A loopback TCP port nobody listens on right now (so several simulators can run side by side). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/** `--memory`: one measured run per mode, the table (or JSON), exit 1 when a run failed or a peak exceeds the ESP32 creation sizes. */
async function measureMemory(options: SimOptions, sdk: SdkCheck): Promise<number> {
  const limits = creationLimits(JSON.parse(readFileSync(join(ROOT, "manifests", "esp32.json"), "utf8")).creation);
  const runs: ModeMemory[] = [];
  let failed = false;
  for (const mode of options.memoryModes ?? []) {
    const points: MemoryPoint[] = [];
    const code = await sim({ ...options, mode, provisioning: defaultProvisioning(mode), thingName: `${options.thingName}-${mode}` }, sdk, (line) => {
      const point = parseMemoryLine(line);
      if (point) points.push(point);
    }, [join(ROOT, "manifests", "memory.json")]);
    if (code !== 0) failed = true;
    runs.push(judgeMemory(mode, points, limits, isHttpsMode(mode) ? MEASURED_POINTS.filter((p) => p !== "connack") : MEASURED_POINTS));
  }
  const problems = runs.flatMap((run) => run.problems);
  console.log(`\nmemory in the simulator (chunk heap in bytes; slot heap and stack in XS slots, ${SIM_SLOT_BYTES} B here, 16 B on the ESP32):`);
  console.log(memoryTable(runs, limits));
  for (const problem of problems) console.error(problem);
  const ok = !failed && problems.length === 0;
  if (options.json) console.log(JSON.stringify({ ok, limits, modes: Object.fromEntries(runs.map((run) => [run.mode, { peak: run.peak, points: run.points, problems: run.problems }])) }));
  return ok ? 0 : EXIT_FAILED;
}

async function sim(options: SimOptions, sdk: SdkCheck, onLine: (line: string) => void = () => {}, extraManifests: string[] = []): Promise<number> {
  const moddable = sdk.moddable!;
  const { mode, provisioning, messages, timeoutSeconds, thingName } = options;

  const { startIotCore } = await import("../iotcore/index.js");
  const { prepareDemo } = await import("./demo-setup.js");
  const dev = options.stateDir;
  const core = await startIotCore({ stateDir: join(dev, "iotcore"), provisioningDelayMs: 200, log: (line: string) => console.log(`[iotcore] ${line}`) });
  let child: ChildProcess | undefined;
  const stop = async (code: number) => {
    if (child?.pid) {
      try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
    }
    await core.close();
    return code;
  };
  try {
    console.log(`stand-in: ${core.endpoint} on 127.0.0.1 (mqtt ${core.ports.mqtt}, https ${core.ports.https})`);
    console.log(`device ${thingName}: mode ${mode}, provisioning ${provisioning}`);
    // The same set-up as npm start: CA and template, device certificate, authorizer and signed
    // token, or Cognito identity pool; its config already names the stand-in's address and port.
    const setup = await prepareDemo(core as never, { mode, provisioning, outDir: join(dev, "certs"), thingName, iotcoreStateDir: join(dev, "iotcore"), say: (l) => console.log(l) });
    // One app per mode (its own name, so its own build folder under $MODDABLE/build: another
    // mode's modules, or another checkout building "sim" at the same time, never mix into it).
    const app = `sim-${mode}${options.ota ? "-ota" : ""}`;
    const appDir = join(dev, app);
    mkdirSync(join(appDir, "resources"), { recursive: true });
    const ota = options.ota ? await (await import("./sim-ota.js")).prepareSimOta(core, join(dev, "iotcore"), setup.thingName, setup.image) : undefined;
    if (ota) extraManifests = [...extraManifests, (await import("./sim-ota.js")).OTA_FEATURE_MANIFEST];
    writeFileSync(join(appDir, "resources", "devcreds.bin"), ota?.image ?? setup.image);
    // A fresh device has empty storage: the simulator's Preference file (modpreferences.json,
    // shared by every simulator app under /tmp/ on Linux) moves to a folder of its own, emptied here.
    const deviceDir = join(appDir, "device");
    rmSync(deviceDir, { recursive: true, force: true });
    mkdirSync(deviceDir, { recursive: true });
    // The device build of this mode (manifests/modes/<mode>.json, or manifests/fleet/<mode>.json
    // when it provisions by claim), with the Device Shadow feature in the MQTT modes.
    const { DEMO_DESIRED_INTERVAL_MS, demoHasShadow, shadowOperator, writeDemoManifest } = await import("./demo-shadow.js");
    writeDemoManifest(appDir, mode, {
      data: { "*": join(appDir, "resources", "devcreds") },
      config: { ...setup.config, file: { root: deviceDir + sep }, ...(ota ? { features: { ...(setup.config as { features?: object }).features, ota: ota.settings } } : {}) },
    }, extraManifests, join(ROOT, "manifests", provisioning === "fleet" ? "fleet" : "modes", `${mode}.json`));
    // Once telemetry flows, an operator changes the desired interval through the data-plane API,
    // on the thing the device is (fleet provisioning names it at registration: setup.thingName).
    const operator = shadowOperator(core, setup.thingName, core.accountKey);
    const shadowStep = async () => {
      if (ota && !await ota.run((line) => console.log(line))) return false;
      if (!demoHasShadow(mode)) return true;
      const version = await operator.requestInterval(DEMO_DESIRED_INTERVAL_MS);
      console.log(`operator: UpdateThingShadow ${setup.thingName}: desired telemetryIntervalMs ${DEMO_DESIRED_INTERVAL_MS} (shadow version ${version})`);
      const reported = await operator.reported(DEMO_DESIRED_INTERVAL_MS, 30_000);
      const summary = await operator.summary();
      console.log(`operator: ${reported ? "the device reported" : "no report of"} telemetryIntervalMs ${DEMO_DESIRED_INTERVAL_MS}; shadow version ${summary.shadowVersion ?? "-"}, applied interval ${summary.appliedIntervalMs ?? "-"} ms`);
      return reported;
    };
    const env = { ...process.env, PATH: toolPath(moddable) };
    const platform = hostPlatform();
    if (run("mcconfig", ["-d", "-m", "-p", platform, "-t", "build", join(appDir, "manifest.json")], env) !== 0) {
      return stop(fail("mcconfig could not build the simulator app (see above)", EXIT_FAILED));
    }
    const simulator = join(moddable, "build", "bin", platform, "release", platform === "mac" ? "mcsim.app" : "mcsim");
    const library = join(moddable, "build", "bin", platform, "mc", "debug", app, "mc.so");
    const xsbugLog = join(moddable, "tools", "xsbug-log");
    if (!existsSync(join(xsbugLog, "node_modules"))) return stop(fail(`xsbug-log needs its packages: cd ${xsbugLog} && npm install`));
    const headless = !process.env.DISPLAY && platform === "lin";
    const command = headless ? "xvfb-run" : "node";
    const commandArgs = [...(headless ? ["-a", "node"] : []), "xsbug-log", simulator, library];
    console.log(`$ ${command} ${commandArgs.join(" ")}  (in ${xsbugLog})`);
    // mcsim connects to xsbug-log on XSBUG_PORT; xsbug-log listens on XSBUG_LOG_PORT.
    const xsbugPort = String(options.xsbugPort ?? await freePort());
    child = spawn(command, commandArgs, { cwd: xsbugLog, detached: true, stdio: ["pipe", "pipe", "inherit"], env: { ...env, XSBUG_PORT: xsbugPort, XSBUG_LOG_PORT: xsbugPort, XSBUG_HOST: "localhost", XSBUG_PROJECT: appDir } });
    return await watch(child, messages, timeoutSeconds, async (code) => {
      operator.close();
      return stop(code);
    }, onLine, shadowStep);
  } catch (e) {
    return stop(fail(`sim: ${e instanceof Error ? e.message : String(e)}`, EXIT_FAILED));
  }
}

/**
 * Streams the simulator's log; resolves when `messages` telemetry messages were acknowledged
 * and `onTelemetry` (started at the first) has resolved true: exit 0, or 1 when it resolved false.
 */
function watch(child: ChildProcess, messages: number, timeoutSeconds: number, stop: (code: number) => Promise<number>, onLine: (line: string) => void, onTelemetry: () => Promise<boolean>): Promise<number> {
  return new Promise((resolveExit) => {
    let acked = 0;
    let step: Promise<boolean> | undefined;
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stop(code).then(resolveExit);
    };
    const timer = timeoutSeconds > 0 ? setTimeout(() => {
      console.error(`sim: ${acked}/${messages} acknowledged telemetry messages after ${timeoutSeconds} s`);
      finish(messages && acked < messages ? 1 : 0);
    }, timeoutSeconds * 1000) : undefined;
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const raw of lines) {
        // eslint-disable-next-line no-control-regex
        const line = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/^\(xsdb\) /, "");
        console.log(line);
        onLine(line);
        if (/telemetry: #\d+ acknowledged/.test(line)) {
          acked++;
          step ??= onTelemetry().catch((e: Error) => {
            console.error(`sim: the shadow step failed: ${e.message}`);
            return false;
          });
          if (messages && acked === messages) {
            console.log(`sim: ${acked} telemetry messages acknowledged`);
            void step.then((ok) => finish(ok ? 0 : 1));
          }
        }
        if (/XS abort|status: (refused|gave-up|credentials-invalid|config-invalid|clock-unset)/.test(line)) finish(1);
      }
    });
    child.on("exit", (code) => finish(code ?? 1));
  });
}

interface FlashOptions {
  target: string;
  /** The manifest built: manifests/modes/<mode>.json, or manifest.json. */
  manifest: string;
  overrides: string[];
  thingName?: string;
  image?: string;
  port?: string;
}

/** `npm run flash`'s options; undefined after --help was printed. Throws UsageError. */
export function flashOptions(argv: string[]): FlashOptions | undefined {
  const parsed = commandLine(FLASH, argv);
  if (!parsed) return undefined;
  const [target, ...rest] = parsed.positionals;
  if (!target?.startsWith("esp32")) throw new UsageError(`the first argument is the board, e.g. esp32/nodemcu${target ? `, not '${target}'` : ""}`);
  const stray = rest.find((a) => !a.includes("="));
  if (stray) throw new UsageError(`unexpected argument '${stray}': after the board only name=value config overrides are taken`);
  const mode = parsed.values.mode === undefined ? undefined : oneOf("mode", parsed.values.mode, MODES);
  const manifest = mode ? join(ROOT, "manifests", "modes", `${mode}.json`) : join(ROOT, "manifest.json");
  return { target, manifest, overrides: rest, thingName: parsed.values["thing-name"], image: parsed.values.image, port: parsed.values.port };
}

function flash(options: FlashOptions, sdk: SdkCheck): number {
  if (!process.env.IDF_PATH) return fail("IDF_PATH is not set: install the ESP-IDF version the Moddable SDK names in documentation/devices/esp32.md and source its export.sh first.");
  const env = { ...process.env, PATH: toolPath(sdk.moddable!) };
  if (run("mcconfig", ["-d", "-m", "-p", options.target, options.manifest, ...options.overrides], env) !== 0) return fail("mcconfig could not build or deploy (see above)", EXIT_FAILED);
  const thing = options.thingName;
  const image = options.image ?? (thing ? join(ROOT, ".dev", "devices", thing, "devcerts.bin") : undefined);
  if (!image) {
    console.log("firmware flashed; no --thing-name or --image given, so the credentials partition was left as it is.");
    return 0;
  }
  if (!existsSync(image)) return fail(`no credentials image at ${image}: create it with \`npm run certs -- image --thing-name ${String(thing)} --trusted-ca AmazonRootCA1.pem\` after \`npm run certs -- device --thing-name ${String(thing)}\` (see README).`);
  const slot = credentialsPartitionOffset(readFileSync(join(ROOT, "manifests", "esp32", "partitions.csv"), "utf8"));
  if (!slot) return fail("manifests/esp32/partitions.csv has no devcerts partition");
  if (readFileSync(image).length > slot.size) return fail(`${image} is larger than the devcerts partition (${slot.size} bytes)`);
  const port = options.port ? ["--port", options.port] : [];
  return run("esptool.py", [...port, "write_flash", `0x${slot.offset.toString(16)}`, image], env) === 0 ? 0 : fail("esptool.py could not write the credentials image", EXIT_FAILED);
}

/** Prints `message` and returns the exit code: 2 (fix the setup or input) unless told otherwise. */
function fail(message: string, exitCode = EXIT_USAGE): number {
  console.error(message);
  return exitCode;
}

async function main(): Promise<number> {
  const [command, ...argv] = process.argv.slice(2);
  if (command !== "sim" && command !== "flash") throw new UsageError("the first argument is sim or flash (npm run sim, npm run flash)");
  const options = command === "sim" ? simOptions(argv) : flashOptions(argv);
  if (!options) return 0;
  const sdk = checkSdk();
  if (!sdk.ok) return fail(sdk.message);
  console.log(sdk.message);
  if ("target" in options) return flash(options, sdk);
  return options.memoryModes ? measureMemory(options, sdk) : sim(options, sdk);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCli(`npm run ${process.argv[2] ?? "sim"}`, main, () => (process.argv[2] === "flash" ? FLASH : SIM));
}
