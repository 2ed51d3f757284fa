// Every CLI refuses bad input with one sentence naming the cause, the file or value, and the fix,
// and the exit code README's "Command lines" gives (2: change the command line or its input),
// never a stack trace. certs runs in-process through its main(); the others as npm runs them.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main as certs } from "../../certs/cli.js";
import { main as jobs } from "../../host/cli/jobs.js";
import { layout, loadCa } from "../../certs/commands.js";
import { createRootCa, generateRsaKey, issueCertificate } from "../../certs/pki.js";
import { startIotCore } from "../../host/iotcore/index.js";

const ROOT = join(import.meta.dirname, "..", "..");
const DAY_MS = 86_400_000;

/** A PEM private-key frame around `body` that is no key (built in pieces so no key marker sits in the source). */
function pemLike(body: string): string {
  const label = ["PRIVATE", "KEY"].join(" ");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

interface Outcome { code: number | null; text: string }

/** Runs `node --import tsx <script> <args>` as npm's scripts do; `asUser` runs it as another user (root only). */
function cli(script: string, args: string[], options: { asUser?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ids = options.asUser === undefined ? {} : { uid: options.asUser, gid: options.asUser };
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, script), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env, ...ids });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    const limit = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", (e) => { clearTimeout(limit); reject(e); });
    child.on("close", (code) => { clearTimeout(limit); resolve({ code, text }); });
  });
}

async function jobsRun(args: string[]): Promise<Outcome> {
  const lines: string[] = [];
  const code = await jobs(args, (l) => lines.push(l), (l) => lines.push(l));
  return { code, text: lines.join("\n") };
}

async function certsRun(args: string[]): Promise<Outcome> {
  const lines: string[] = [];
  const code = await certs(args, (l) => lines.push(l), (l) => lines.push(l));
  return { code, text: lines.join("\n") };
}

interface Case {
  name: string;
  run: () => Promise<Outcome>;
  code: number;
  message: RegExp;
}

function assertRefusal(c: Case, outcome: Outcome): void {
  assert.equal(outcome.code, c.code, `${c.name}: exit ${outcome.code}\n${outcome.text}`);
  assert.match(outcome.text, c.message, c.name);
  assert.doesNotMatch(outcome.text, /\n\s+at .+:\d+:\d+/, `${c.name} printed a stack trace`);
  assert.doesNotMatch(outcome.text, /unexpected failure/, `${c.name} was not explained`);
}

describe("bad invocations of the CLIs", function () {
  this.timeout(300_000);
  let dir: string;
  let out: string;
  let aFile: string;
  let busy: Server;
  let busyPort: number;
  let iotcoreState: string;
  const withoutModdable = { ...process.env };
  delete withoutModdable.MODDABLE;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "bad-invocations-"));
    aFile = join(dir, "a-file");
    writeFileSync(aFile, "not a folder\n");
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    busyPort = (busy.address() as AddressInfo).port;

    // A certs folder with a CA, a device and a second device whose files are then spoiled.
    out = join(dir, "certs");
    assert.equal((await certsRun(["ca", "--out-dir", out])).code, 0);
    assert.equal((await certsRun(["device", "--thing-name", "good", "--out-dir", out])).code, 0);
    assert.equal((await certsRun(["device", "--thing-name", "other", "--out-dir", out])).code, 0);
    const files = layout(out);
    // A device whose key is another device's: the certificate and the key do not match.
    mkdirSync(files.device("mismatch").dir, { recursive: true });
    for (const name of ["certPem", "chainPem"] as const) copyFileSync(files.device("good")[name], files.device("mismatch")[name]);
    copyFileSync(files.device("other").keyPem, files.device("mismatch").keyPem);
    // A device whose chain lists the CA first.
    const reversed = files.device("reversed");
    mkdirSync(reversed.dir, { recursive: true });
    copyFileSync(files.device("good").certPem, reversed.certPem);
    copyFileSync(files.device("good").keyPem, reversed.keyPem);
    writeFileSync(reversed.chainPem, readFileSync(files.caPem, "utf8") + readFileSync(files.device("good").certPem, "utf8"));
    // A device whose certificate expired yesterday.
    const ca = loadCa(out);
    const key = await generateRsaKey();
    const expired = await issueCertificate({ issuer: ca, kind: "client", key, subject: { commonName: "expired" }, notBefore: new Date(Date.now() - 30 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
    const stale = files.device("expired");
    mkdirSync(stale.dir, { recursive: true });
    writeFileSync(stale.certPem, expired.certPem);
    writeFileSync(stale.keyPem, key.privateKeyPem);
    writeFileSync(stale.chainPem, expired.certPem + ca.certPem);

    // A stand-in state made once, then spoiled by the cases that need it.
    iotcoreState = join(dir, "iotcore");
    const core = await startIotCore({ stateDir: iotcoreState, ports: { mqtt: 0, https: 0, control: 0 } });
    await core.close();
  });

  after(async () => {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A certs folder holding only a CA, made by `make`. */
  async function caFolder(name: string, make: (files: ReturnType<typeof layout>) => Promise<void> | void): Promise<string> {
    const folder = join(dir, name);
    const files = layout(folder);
    mkdirSync(join(folder, "ca"), { recursive: true });
    await make(files);
    return folder;
  }

  /** A copy of the stand-in state with `file` (relative) replaced by `text`. */
  function spoiledState(name: string, file: string, text: string): string {
    const state = join(dir, name);
    cpSync(iotcoreState, state, { recursive: true });
    writeFileSync(join(state, file), text);
    return state;
  }

  const unprivileged = 65534;
  const runAs = process.getuid?.() === 0 ? unprivileged : undefined;
  function lockedFolder(): string {
    const folder = join(dir, "locked");
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o700);
    if (runAs === undefined) chmodSync(folder, 0o000);
    return folder;
  }

  const cases: Case[] = [
    // npm start
    { name: "start --state <a file>", run: () => cli("host/cli/start.ts", ["--state", aFile]), code: 2, message: /npm start: --state .*a-file is not a folder .*: name a folder, which is created when missing/ },
    { name: "start --state without its value", run: () => cli("host/cli/start.ts", ["--state"]), code: 2, message: /npm start: --state needs a value \(DIR\)\n\nusage: npm start -- \[options\]/ },
    { name: "start with an unreadable state folder", run: () => cli("host/cli/start.ts", ["--state", lockedFolder()], { asUser: runAs }), code: 2, message: /locked.* cannot be (created|read) or written \(EACCES\): make .*locked readable and writable for this user, or choose another folder with --state/ },
    { name: "start --bogus", run: () => cli("host/cli/start.ts", ["--bogus"]), code: 2, message: /unknown option --bogus \(see `npm start -- --help`\)/ },
    { name: "start --mode mqtt", run: () => cli("host/cli/start.ts", ["--mode", "mqtt"]), code: 2, message: /--mode mqtt is not one of mtls, mtls-alpn, custom-auth, wss-custom-auth, wss-sigv4/ },
    { name: "start --messages 0", run: () => cli("host/cli/start.ts", ["--messages", "0"]), code: 2, message: /--messages must be a whole number from 1 to 100000, not '0'/ },
    { name: "start --engine rust", run: () => cli("host/cli/start.ts", ["--engine", "rust"]), code: 2, message: /--engine rust is not one of xs, node/ },
    { name: "start --json=yes", run: () => cli("host/cli/start.ts", ["--json=yes"]), code: 2, message: /--json takes no value, not 'yes'/ },
    { name: "start with a stray argument", run: () => cli("host/cli/start.ts", ["mtls"]), code: 2, message: /unexpected argument 'mtls': options start with --/ },
    {
      name: "start with a corrupt CA key in its state",
      run: async () => {
        const state = join(dir, "corrupt-start");
        const jitp = join(state, "dev", "jitp");
        await certsRun(["ca", "--out-dir", jitp]);
        writeFileSync(layout(jitp).caKeyPem, "garbage\n");
        return cli("host/cli/start.ts", ["--state", state, "--engine", "node"]);
      },
      code: 2,
      message: /npm start: setup failed: .*corrupt-start\/dev\/jitp\/ca\/root-ca\.key\.pem is not a PEM private key .*npm start keeps these files in .*corrupt-start\/dev: delete that folder and it makes new ones/,
    },
    { name: "start --mode wss-sigv4 --provisioning jitp", run: () => cli("host/cli/start.ts", ["--mode", "wss-sigv4", "--provisioning", "jitp"]), code: 2, message: /connects without a device certificate.*pass --provisioning none/ },

    // npm run fleet
    { name: "fleet --bogus", run: () => cli("host/cli/fleet.ts", ["--bogus"]), code: 2, message: /npm run fleet: unknown option --bogus \(see `npm run fleet -- --help`\)\n\nusage: npm run fleet --/ },
    { name: "fleet --devices 0", run: () => cli("host/cli/fleet.ts", ["--devices", "0"]), code: 2, message: /--devices must be a whole number from 1 to 5000, not '0'/ },
    { name: "fleet --devices without its value", run: () => cli("host/cli/fleet.ts", ["--devices"]), code: 2, message: /--devices needs a value \(N\)/ },
    { name: "fleet --provisioning magic", run: () => cli("host/cli/fleet.ts", ["--provisioning", "magic"]), code: 2, message: /--provisioning magic is not one of jitp, jitr, fleet, none/ },
    { name: "fleet --mode https-mtls", run: () => cli("host/cli/fleet.ts", ["--mode", "https-mtls", "--provisioning", "none"]), code: 2, message: /--mode https-mtls publishes over HTTPS .*: pass an MQTT mode/ },
    { name: "fleet --chaos kill@5", run: () => cli("host/cli/fleet.ts", ["--chaos", "kill@5"]), code: 2, message: /--chaos kill@5 is not understood: the one chaos is restart@T .*e\.g\. --chaos restart@30/ },
    { name: "fleet --chaos restart@90 past --duration 60", run: () => cli("host/cli/fleet.ts", ["--chaos", "restart@90", "--duration", "60"]), code: 2, message: /--chaos restart@90 must fall within the run: after 0 and before --duration 60/ },
    { name: "fleet --xs-workers without --engine xs", run: () => cli("host/cli/fleet.ts", ["--xs-workers", "3"]), code: 2, message: /--xs-workers is for --engine xs: add --engine xs, or leave out --xs-workers/ },
    { name: "fleet --connect-limit 0", run: () => cli("host/cli/fleet.ts", ["--connect-limit", "0"]), code: 2, message: /--connect-limit must be a whole number from 1 to 1000000, not '0'/ },
    { name: "fleet --state <a file>", run: () => cli("host/cli/fleet.ts", ["--state", aFile, "--devices", "1", "--duration", "10"]), code: 2, message: /npm run fleet: --state .*a-file is not a folder/ },

    // npm run iotcore
    { name: "iotcore without --state", run: () => cli("host/iotcore/main.ts", []), code: 2, message: /npm run iotcore: --state is required: the folder where the stand-in keeps its registry and server PKI, e.g. --state \.state\/iotcore/ },
    { name: "iotcore --host 999.1.1.1", run: () => cli("host/iotcore/main.ts", ["--state", join(dir, "host-state"), "--host", "999.1.1.1", "--mqtt-port", "0", "--https-port", "0", "--control-port", "0", "--https-mtls-port", "0"]), code: 2, message: /--host 999\.1\.1\.1 is not an address of this machine .*: pass an IP address such as 127\.0\.0\.1 or ::1/ },
    { name: "iotcore --mqtt-port 70000", run: () => cli("host/iotcore/main.ts", ["--state", dir, "--mqtt-port", "70000"]), code: 2, message: /--mqtt-port must be a whole number from 0 to 65535, not '70000'/ },
    { name: "iotcore --connect-limit fast", run: () => cli("host/iotcore/main.ts", ["--state", dir, "--connect-limit", "fast"]), code: 2, message: /--connect-limit must be a whole number from 1 to 1000000, not 'fast'/ },
    { name: "iotcore --account (the option is --account-id)", run: () => cli("host/iotcore/main.ts", ["--state", dir, "--account", "1"]), code: 2, message: /unknown option --account \(see `npm run iotcore -- --help`\)/ },
    { name: "iotcore on a busy port", run: () => cli("host/iotcore/main.ts", ["--state", join(dir, "busy-state"), "--mqtt-port", String(busyPort), "--https-port", "0", "--control-port", "0", "--https-mtls-port", "0"]), code: 2, message: new RegExp(`127\\.0\\.0\\.1:${"\\d+"} is already in use: stop what holds it or choose other ports with --mqtt-port`) },
    { name: "iotcore --state <a file>", run: () => cli("host/iotcore/main.ts", ["--state", aFile, "--mqtt-port", "0", "--https-port", "0", "--control-port", "0", "--https-mtls-port", "0"]), code: 2, message: /--state .*a-file is not a folder/ },
    { name: "iotcore with a corrupt server key", run: () => cli("host/iotcore/main.ts", ["--state", spoiledState("bad-key", "server/server.key", pemLike("not a key")), "--mqtt-port", "0", "--https-port", "0", "--control-port", "0", "--https-mtls-port", "0"]), code: 2, message: /bad-key\/server\/server\.key is not a valid PEM private key .*: delete .*bad-key\/server to have a new server PKI made \(devices must then trust the new .*root-ca\.pem\)/ },
    { name: "iotcore with a corrupt server CA", run: () => cli("host/iotcore/main.ts", ["--state", spoiledState("bad-ca", "server/root-ca.pem", "garbage"), "--mqtt-port", "0", "--https-port", "0", "--control-port", "0", "--https-mtls-port", "0"]), code: 2, message: /bad-ca\/server\/root-ca\.pem is not a valid PEM certificate/ },
    { name: "iotcore with a corrupt registry file", run: () => cli("host/iotcore/main.ts", ["--state", spoiledState("bad-registry", "registry/things.json", "{ not json"), "--mqtt-port", "0", "--https-port", "0", "--control-port", "0", "--https-mtls-port", "0"]), code: 2, message: /registry file .*bad-registry\/registry\/things\.json is not valid JSON .*: fix or delete it/ },

    // npm run sim / flash (no Moddable SDK needed to refuse these)
    { name: "sim --thing (the option is --thing-name)", run: () => cli("host/cli/moddable.ts", ["sim", "--thing", "dev1"], { env: withoutModdable }), code: 2, message: /unknown option --thing \(see `npm run sim -- --help`\)/ },
    { name: "sim --messages without its value", run: () => cli("host/cli/moddable.ts", ["sim", "--messages"], { env: withoutModdable }), code: 2, message: /--messages needs a value \(N\)\n\nusage: npm run sim -- \[options\]/ },
    { name: "sim --ota with a mode without a device certificate", run: () => cli("host/cli/moddable.ts", ["sim", "--mode", "custom-auth", "--ota"], { env: withoutModdable }), code: 2, message: /--ota needs an MQTT mode with a device certificate \(--mode mtls or mtls-alpn\) and no --memory/ },
    { name: "sim --timeout abc", run: () => cli("host/cli/moddable.ts", ["sim", "--timeout", "abc"], { env: withoutModdable }), code: 2, message: /--timeout must be a whole number from 0 to 86400, not 'abc'/ },
    { name: "sim without the Moddable SDK", run: () => cli("host/cli/moddable.ts", ["sim"], { env: withoutModdable }), code: 2, message: /MODDABLE is not set: the Moddable SDK is needed for this command; install it/ },
    { name: "flash without a board", run: () => cli("host/cli/moddable.ts", ["flash", "--thing-name", "dev1"], { env: withoutModdable }), code: 2, message: /the first argument is the board, e\.g\. esp32\/nodemcu/ },
    { name: "flash --port without its value", run: () => cli("host/cli/moddable.ts", ["flash", "esp32/nodemcu", "--port"], { env: withoutModdable }), code: 2, message: /--port needs a value \(DEVICE\)/ },
    { name: "flash with a stray argument", run: () => cli("host/cli/moddable.ts", ["flash", "esp32/nodemcu", "now"], { env: withoutModdable }), code: 2, message: /unexpected argument 'now': after the board only name=value config overrides are taken/ },

    // npm run jobs (in-process, like certs)
    { name: "jobs without a command", run: () => jobsRun([]), code: 2, message: /usage: npm run jobs -- <command> \[options\]/ },
    { name: "jobs frobnicate", run: () => jobsRun(["frobnicate"]), code: 2, message: /unknown command 'frobnicate'; commands: config, reboot, ota, status/ },
    { name: "jobs config --thing (the option is --thing-name)", run: () => jobsRun(["config", "--thing", "dev1"]), code: 2, message: /unknown option --thing \(see `npm run jobs -- config --help`\)\n\nusage: npm run jobs -- config \[options\]/ },
    { name: "jobs config without --set", run: () => jobsRun(["config", "--thing-name", "dev1"]), code: 2, message: /--set is required: at least one setting, e\.g\. --set telemetryIntervalMs=500/ },
    { name: "jobs config --set without =", run: () => jobsRun(["config", "--thing-name", "dev1", "--set", "telemetryIntervalMs"]), code: 2, message: /--set telemetryIntervalMs is not name=value/ },
    { name: "jobs reboot --timeout 0", run: () => jobsRun(["reboot", "--thing-name", "dev1", "--timeout", "0"]), code: 2, message: /--timeout must be a whole number from 1 to 86400, not '0'/ },
    { name: "jobs reboot with a thing and a group", run: () => jobsRun(["reboot", "--thing-name", "dev1", "--thing-group", "fleet"]), code: 2, message: /name one target: --thing-name NAME or --thing-group NAME/ },
    { name: "jobs reboot --continuous for one thing", run: () => jobsRun(["reboot", "--thing-name", "dev1", "--continuous"]), code: 2, message: /--continuous needs --thing-group/ },
    { name: "jobs ota without --image", run: () => jobsRun(["ota", "--thing-name", "dev1"]), code: 2, message: /--image is required: the firmware image to deliver/ },
    { name: "jobs ota --image <missing file>", run: () => jobsRun(["ota", "--thing-name", "dev1", "--image", join(dir, "nope.bin")]), code: 2, message: /--image .*nope\.bin is not a file: pass the firmware image/ },
    { name: "jobs ota --signature that is not base64", run: () => jobsRun(["ota", "--thing-name", "dev1", "--image", aFile, "--signature", "not base64!"]), code: 2, message: /--signature must be the base64 signature `npm run certs -- sign-image` prints/ },
    { name: "jobs status --follow without the execution", run: () => jobsRun(["status", "--follow", "--state", iotcoreState]), code: 2, message: /--follow needs --job-id and --thing-name/ },
    { name: "jobs reboot against a state with no stand-in", run: () => jobsRun(["reboot", "--thing-name", "dev1", "--state", join(dir, "no-stand-in")]), code: 2, message: /no-stand-in\/aws\/credentials does not exist: no stand-in has run with --state .*; start one with `npm run iotcore -- --state/ },

    // npm run certs
    { name: "certs without a command", run: () => certsRun([]), code: 2, message: /usage: npm run certs -- <command> \[options\]/ },
    { name: "certs frobnicate", run: () => certsRun(["frobnicate"]), code: 2, message: /unknown command 'frobnicate'; commands: ca, verification, device/ },
    { name: "certs device --thing-name without its value", run: () => certsRun(["device", "--thing-name"]), code: 2, message: /--thing-name needs a value \(NAME\)/ },
    { name: "certs device --days 0", run: () => certsRun(["device", "--thing-name", "t", "--days", "0", "--out-dir", out]), code: 2, message: /--days must be a whole number from 1 to 36500, not '0'/ },
    { name: "certs device --country USA", run: () => certsRun(["device", "--thing-name", "t", "--country", "USA", "--out-dir", out]), code: 2, message: /country 'USA' is not a two-letter ISO 3166 code; pass e\.g\. --country US/ },
    { name: "certs device without a CA", run: () => certsRun(["device", "--thing-name", "t", "--out-dir", join(dir, "empty")]), code: 2, message: /root-ca\.pem does not exist; create it with `npm run certs -- ca`/ },
    {
      name: "certs device with a corrupt CA key",
      run: async () => certsRun(["device", "--thing-name", "t", "--out-dir", await caFolder("bad-ca-key", (files) => {
        copyFileSync(layout(out).caPem, files.caPem);
        writeFileSync(files.caKeyPem, pemLike("AAAA"));
      })]),
      code: 2,
      message: /bad-ca-key\/ca\/root-ca\.key\.pem is not a PEM private key \(.*\); create it with `npm run certs -- ca` \(`--force` replaces a broken one/,
    },
    {
      name: "certs device with an expired CA",
      run: async () => certsRun(["device", "--thing-name", "t", "--out-dir", await caFolder("expired-ca", async (files) => {
        const ca = await createRootCa({ subject: { commonName: "Old CA" }, notBefore: new Date(Date.now() - 30 * DAY_MS), days: 10 });
        writeFileSync(files.caPem, ca.certPem);
        writeFileSync(files.caKeyPem, ca.key.privateKeyPem);
      })]),
      code: 2,
      message: /the device root CA .*expired-ca\/ca\/root-ca\.pem expired on .*: devices it issues would be refused; create a new CA with `npm run certs -- ca --force`, register it/,
    },
    { name: "certs image with a key that is not the certificate's", run: () => certsRun(["image", "--thing-name", "mismatch", "--trusted-ca", layout(out).caPem, "--out-dir", out]), code: 2, message: /mismatch\/device\.key\.pem is not the key of .*mismatch\/device\.pem/ },
    { name: "certs image with an expired device certificate", run: () => certsRun(["image", "--thing-name", "expired", "--trusted-ca", layout(out).caPem, "--out-dir", out]), code: 2, message: /the credentials for 'expired' would be refused by the device: the device certificate expired on .*reissue it \(`npm run certs -- device`\)/ },
    { name: "certs image with the chain in the wrong order", run: () => certsRun(["image", "--thing-name", "reversed", "--trusted-ca", layout(out).caPem, "--out-dir", out]), code: 2, message: /the credentials for 'reversed' would be refused by the device: .*(not issued by the next|does not belong to the device certificate)/ },
    { name: "certs image --trusted-ca <missing file>", run: () => certsRun(["image", "--thing-name", "good", "--trusted-ca", join(dir, "nope.pem"), "--out-dir", out]), code: 2, message: /--trusted-ca .*nope\.pem cannot be read; pass an existing PEM file/ },
    { name: "certs image --setting without =", run: () => certsRun(["image", "--thing-name", "good", "--trusted-ca", layout(out).caPem, "--setting", "mode", "--out-dir", out]), code: 2, message: /--setting 'mode' is not name=value/ },
    { name: "certs template --account-id 12", run: () => certsRun(["template", "--account-id", "12", "--out-dir", out]), code: 2, message: /account id '12' is not 12 digits; pass --account-id/ },
    { name: "certs sign-token without --token", run: () => certsRun(["sign-token", "--out-dir", out]), code: 2, message: /`certs sign-token` needs --token/ },
    { name: "certs sign-image without --image", run: () => certsRun(["sign-image", "--out-dir", out]), code: 2, message: /`certs sign-image` needs --image/ },
    { name: "certs sign-image --image <missing file>", run: () => certsRun(["sign-image", "--image", join(dir, "nope.bin"), "--out-dir", out]), code: 2, message: /--image .*nope\.bin cannot be read \(ENOENT\); pass the firmware image file/ },
    { name: "certs sign-image without a code-signing key", run: () => certsRun(["sign-image", "--image", aFile, "--out-dir", out]), code: 2, message: /code-signing\.pem does not exist; create them with `npm run certs -- code-signing`/ },
    { name: "certs sign-image with an RSA key (not a code signer)", run: () => certsRun(["sign-image", "--image", aFile, "--cert", layout(out).caPem, "--key", layout(out).caKeyPem, "--out-dir", out]), code: 2, message: /root-ca\.pem is not an ECDSA P-256 code-signing certificate; make one with `npm run certs -- code-signing`/ },
    { name: "certs image --code-signing <a file without a certificate>", run: () => certsRun(["image", "--thing-name", "good", "--trusted-ca", layout(out).caPem, "--code-signing", aFile, "--out-dir", out]), code: 2, message: /--code-signing .*a-file holds no PEM certificate; pass the certificate `npm run certs -- code-signing` wrote/ },
  ];

  it(`has at least 30 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 30);
  });

  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, the cause and the fix, no stack trace`, async () => {
      assertRefusal(c, await c.run());
    });
  }
});
