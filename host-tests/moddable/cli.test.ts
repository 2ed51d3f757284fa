import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSdk, compareVersions, flashOptions, simOptions, type SimOptions } from "../../host/cli/moddable.js";
import { isHttpsMode, MODES } from "../../host/cli/modes.js";

const root = join(import.meta.dirname, "../..");

describe("npm run sim / flash without a usable Moddable SDK", () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "moddable-cli-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the CLI exits with a message naming MODDABLE when it is not set", () => {
    const env = { ...process.env };
    delete env.MODDABLE;
    const result = spawnSync(process.execPath, ["--import", "tsx", join(root, "host/cli/moddable.ts"), "sim"], { env, encoding: "utf8", timeout: 20_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /MODDABLE is not set/);
  });

  it("refuses an SDK older than the verified release, and one whose tools are not built", () => {
    mkdirSync(join(dir, "tools"), { recursive: true });
    writeFileSync(join(dir, "tools", "VERSION"), "7.1.0\n");
    const old = checkSdk({ MODDABLE: dir });
    assert.equal(old.ok, false);
    assert.match(old.message, /7\.1\.0, older than 8\.2\.0/);
    writeFileSync(join(dir, "tools", "VERSION"), "8.2.3\n");
    const unbuilt = checkSdk({ MODDABLE: dir });
    assert.equal(unbuilt.ok, false);
    assert.match(unbuilt.message, /tools are not built/);
  });

  it("says a folder without tools/VERSION is not a Moddable SDK", () => {
    assert.match(checkSdk({ MODDABLE: join(dir, "nothing") }).message, /is not a Moddable SDK/);
  });

  it("compares versions numerically", () => {
    assert.ok(compareVersions("8.10.0", "8.2.3") > 0);
    assert.equal(compareVersions("8.2", "8.2.0"), 0);
  });
});

describe("npm run flash options", () => {
  it("takes the board, config overrides and the device's thing name", () => {
    assert.deepEqual(flashOptions(["esp32/nodemcu", "ssid=home", "--thing-name", "dev1"]), { target: "esp32/nodemcu", manifest: join(root, "manifest.json"), overrides: ["ssid=home"], thingName: "dev1", image: undefined, port: undefined });
  });

  it("builds one mode's device with --mode, the development build without it", () => {
    assert.equal(flashOptions(["esp32/nodemcu", "--mode", "wss-sigv4"])?.manifest, join(root, "manifests", "modes", "wss-sigv4.json"));
    assert.throws(() => flashOptions(["esp32/nodemcu", "--mode", "mqtt"]), /--mode mqtt is not one of mtls, mtls-alpn/);
  });

  it("refuses unknown options, a missing board and stray arguments", () => {
    assert.throws(() => flashOptions(["esp32/nodemcu", "--thing", "dev1"]), /unknown option --thing \(see `npm run flash -- --help`\)/);
    assert.throws(() => flashOptions(["--thing-name", "dev1"]), /the first argument is the board, e.g. esp32\/nodemcu/);
    assert.throws(() => flashOptions(["esp32/nodemcu", "extra"]), /unexpected argument 'extra'/);
    assert.throws(() => flashOptions(["esp32/nodemcu", "--image"]), /--image needs a value/);
  });
});

describe("npm run sim options", () => {
  const parse = (...argv: string[]) => simOptions(argv, 0) as SimOptions;

  it("defaults like npm start: mtls-alpn with JITP, and no provisioning for the modes without a certificate", () => {
    const plain = parse();
    assert.equal(plain.mode, "mtls-alpn");
    assert.equal(plain.provisioning, "jitp");
    for (const mode of ["custom-auth", "wss-custom-auth", "wss-sigv4"]) assert.equal(parse("--mode", mode).provisioning, "none");
    assert.equal(parse("--mode", "mtls", "--provisioning", "jitr").provisioning, "jitr");
  });

  it("measures memory in every mode, or in --mode, over at least 20 messages; --json only with --memory", () => {
    assert.deepEqual(parse("--memory").memoryModes, MODES.filter((m) => !isHttpsMode(m)));
    const one = parse("--memory", "--mode", "custom-auth", "--json");
    assert.deepEqual(one.memoryModes, ["custom-auth"]);
    assert.equal(one.json, true);
    assert.equal(one.messages, 20);
    assert.equal(parse().memoryModes, undefined);
    assert.throws(() => simOptions(["--json"], 0), /--json goes with --memory/);
  });

  it("waits 300 s for the requested messages unless told otherwise, and runs on without a message count", () => {
    assert.equal(parse("--messages", "3").timeoutSeconds, 300);
    assert.equal(parse("--messages", "3", "--timeout", "60").timeoutSeconds, 60);
    assert.equal(parse().timeoutSeconds, 0);
    assert.equal(parse("--thing-name", "dev1").thingName, "dev1");
  });

  it("refuses JIT provisioning without a certificate, unknown modes, provisioning kinds, options and counts", () => {
    const cases: [string[], RegExp][] = [
      [["--mode", "wss-sigv4", "--provisioning", "jitp"], /without a device certificate/],
      [["--mode", "mqtt"], /--mode mqtt is not one of mtls, mtls-alpn/],
      [["--provisioning", "later"], /--provisioning later is not one of jitp, jitr, /],
      [["--messsages", "3"], /unknown option --messsages/],
      [["--thing", "dev1"], /unknown option --thing/],
      [["--messages", "three"], /--messages must be a whole number from 0 to 1000000, not 'three'/],
      [["--messages"], /--messages needs a value/],
    ];
    for (const [argv, message] of cases) assert.throws(() => simOptions(argv, 0), message, argv.join(" "));
  });

  it("the CLI reports a bad option before it looks for the SDK", () => {
    const env = { ...process.env };
    delete env.MODDABLE;
    const result = spawnSync(process.execPath, ["--import", "tsx", join(root, "host/cli/moddable.ts"), "sim", "--mode", "custom-auth", "--provisioning", "jitr"], { env, encoding: "utf8", timeout: 20_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /nothing to provision just in time/);
  });
});
