// docs/performance-targets.md ("Provisioning"): "a fresh device reaches telemetry in exactly 2 connection attempts when
// provisioning finishes within the first backoff; first telemetry within provisioning delay +
// 1.5 s". Measured end to end: `npm start` (stand-in + fresh device, JITP) in a new state
// directory, once per engine, reading its JSON summary.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchSection, Figure } from "../section.js";

interface Summary {
  ok: boolean;
  connectAttempts: number;
  provisioningDelayMs: number;
  firstTelemetryMs?: number;
}

const SLACK_MS = 1500;

function runStart(engine: string): Promise<Summary> {
  const state = mkdtempSync(join(tmpdir(), "bench-jitp-"));
  const args = ["--import", "tsx", "host/cli/start.ts", "--engine", engine, "--messages", "1", "--json", "--state", state];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    const limit = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (chunk: Buffer) => { out += chunk.toString("utf8"); });
    child.on("close", (code) => {
      clearTimeout(limit);
      rmSync(state, { recursive: true, force: true });
      const last = out.trim().split("\n").pop() ?? "";
      try {
        const summary = JSON.parse(last) as Summary;
        if (code === 0 && summary.ok) resolve(summary);
        else reject(new Error(`npm start (${engine}) exited ${code}: ${last}`));
      } catch {
        reject(new Error(`npm start (${engine}) printed no summary (exit ${code})`));
      }
    });
  });
}

export const jitpSection: BenchSection = {
  name: "JITP: fresh device to first acknowledged telemetry (stand-in over TLS)",
  async run(log) {
    const figures: Figure[] = [];
    for (const engine of ["xs", "node"]) {
      const s = await runStart(engine);
      const budget = s.provisioningDelayMs + SLACK_MS;
      const met = s.connectAttempts === 2 && s.firstTelemetryMs !== undefined && s.firstTelemetryMs <= budget;
      log(`${engine}: ${s.connectAttempts} attempts, first telemetry after ${s.firstTelemetryMs} ms; target 2 attempts and <= ${budget} ms (provisioning ${s.provisioningDelayMs} ms + 1.5 s): ${met ? "met" : "NOT met"}`);
      figures.push({ name: `${engine}: connection attempts`, unit: "attempts", ours: s.connectAttempts, higherIsBetter: false });
      figures.push({ name: `${engine}: boot to first acknowledged telemetry`, unit: "ms", ours: s.firstTelemetryMs ?? Number.NaN, higherIsBetter: false });
    }
    return figures;
  },
};
