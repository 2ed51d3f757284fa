// `npm run iotcore` refuses bad arguments with a sentence and the usage (exit 2), never a
// stack trace, and starts on free ports and prints its endpoints as one JSON line.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI until it exits, or until it prints a first stdout line (then stops it). */
function iotcore(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "host/iotcore/main.ts", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const limit = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (stdout.includes("\n")) child.kill("SIGTERM");
    });
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString("utf8"); });
    child.on("close", (code) => { clearTimeout(limit); resolve({ code, stdout, stderr }); });
  });
}

describe("npm run iotcore (command line)", () => {
  it("refuses an unknown option with its name and the usage, exit 2", async () => {
    const run = await iotcore(["--bogus"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option --bogus/);
    assert.match(run.stderr, /usage: npm run iotcore -- \[options\]/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it("refuses a port that is not a number, naming the option and the value", async () => {
    const run = await iotcore(["--state", join(tmpdir(), "unused"), "--mqtt-port", "abc"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--mqtt-port must be a whole number from 0 to 65535, not 'abc'/);
  });

  it("refuses a log format other than text or json, naming the value", async () => {
    const run = await iotcore(["--state", join(tmpdir(), "unused"), "--log-format", "yaml"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--log-format must be text or json, not "yaml"/);
  });

  it("starts on free ports and prints its endpoints as one JSON line", async () => {
    const state = mkdtempSync(join(tmpdir(), "iotcore-cli-"));
    try {
      const run = await iotcore(["--state", state, "--mqtt-port", "0", "--https-port", "0", "--control-port", "0", "--https-mtls-port", "0"]);
      const ready = JSON.parse(run.stdout.split("\n")[0]!) as { endpoint: string; ports: { mqtt: number; https: number; control: number }; serverCaFile: string; controlUrl: string; consoleUrl: string };
      assert.match(ready.endpoint, /^[a-z0-9]+-ats\.iot\.us-east-1\.amazonaws\.com$/);
      assert.equal(ready.consoleUrl, `${ready.controlUrl}/console/`);
      for (const port of Object.values(ready.ports)) assert.ok(port > 0 && port < 65536, `port ${port}`);
      assert.equal(ready.serverCaFile, `${state}/server/root-ca.pem`);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});
