import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSdk, compareVersions, parseArgs } from "../../host/cli/moddable.js";

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
