// `npm start -- --console`: the demo runs, then the stand-in stays up with its console until
// Ctrl-C (SIGINT), and exits with the demo's result.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../support/wait.js";

const ROOT = join(import.meta.dirname, "..", "..");

describe("npm start -- --console", function () {
  this.timeout(90_000);

  it("prints the console URL, keeps the stand-in serving it after the demo, and stops on SIGINT with exit 0", async () => {
    const state = mkdtempSync(join(tmpdir(), "start-console-"));
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "host", "cli", "start.ts"), "--console", "--engine", "node", "--messages", "1", "--state", state],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      await waitFor("the line saying the stand-in keeps running", () => /keeps running/.test(stdout), 80_000);
      const url = /== the stand-in keeps running: console (http:\/\/127\.0\.0\.1:\d+\/console\/) \(Ctrl-C stops it\)/.exec(stdout)?.[1];
      assert.ok(url, `no console URL in:\n${stdout}`);
      assert.match(stdout, new RegExp(`^   console ${url.replace(/[./]/g, "\\$&")}$`, "m"), "the URL is printed before the demo too");
      assert.match(stdout, /== done: 1 telemetry messages acknowledged/);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>IoT Core stand-in console<\/title>/);
      child.kill("SIGINT");
      assert.equal(await exited, 0);
    } finally {
      child.kill("SIGKILL");
      rmSync(state, { recursive: true, force: true });
    }
  });
});
