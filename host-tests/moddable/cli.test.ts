import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSdk, compareVersions, parseArgs, simOptions, type SimOptions } from "../../host/cli/moddable.js";

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

  it("compares versions numerically and parses options", () => {
    assert.ok(compareVersions("8.10.0", "8.2.3") > 0);
    assert.equal(compareVersions("8.2", "8.2.0"), 0);
    assert.deepEqual(parseArgs(["flash", "esp32/nodemcu", "--thing", "dev1", "--json"]), { command: "flash", positional: ["esp32/nodemcu"], options: { thing: "dev1", json: true } });
  });
});

describe("npm run sim options", () => {
  const parse = (...argv: string[]) => simOptions(parseArgs(["sim", ...argv]).options, 0);

  it("defaults like npm start: mtls-alpn with JITP, and no provisioning for the modes without a certificate", () => {
    const plain = parse() as SimOptions;
    assert.equal(plain.mode, "mtls-alpn");
    assert.equal(plain.provisioning, "jitp");
    for (const mode of ["custom-auth", "wss-custom-auth", "wss-sigv4"]) assert.equal((parse("--mode", mode) as SimOptions).provisioning, "none");
    assert.equal((parse("--mode", "mtls", "--provisioning", "jitr") as SimOptions).provisioning, "jitr");
  });

  it("waits 300 s for the requested messages unless told otherwise, and runs on without a message count", () => {
    assert.equal((parse("--messages", "3") as SimOptions).timeoutSeconds, 300);
    assert.equal((parse("--messages", "3", "--timeout", "60") as SimOptions).timeoutSeconds, 60);
    assert.equal((parse() as SimOptions).timeoutSeconds, 0);
    assert.equal((parse("--thing", "dev1") as SimOptions).thingName, "dev1");
  });

  it("refuses JIT provisioning without a certificate, unknown modes, provisioning kinds, options and counts", () => {
    assert.match(String(parse("--mode", "wss-sigv4", "--provisioning", "jitp")), /without a device certificate/);
    assert.match(String(parse("--mode", "mqtt")), /--mode mqtt: expected one of/);
    assert.match(String(parse("--provisioning", "later")), /--provisioning later: expected one of jitp, jitr, none/);
    assert.match(String(parse("--messsages", "3")), /--messsages: unknown option/);
    assert.match(String(parse("--messages", "three")), /--messages three: expected a whole number/);
    assert.match(String(parse("--messages")), /--messages needs a value/);
  });

  it("the CLI reports a bad option before it looks for the SDK", () => {
    const env = { ...process.env };
    delete env.MODDABLE;
    const result = spawnSync(process.execPath, ["--import", "tsx", join(root, "host/cli/moddable.ts"), "sim", "--mode", "custom-auth", "--provisioning", "jitr"], { env, encoding: "utf8", timeout: 20_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /nothing to provision just in time/);
  });
});
