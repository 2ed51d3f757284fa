// The unchanged firmware with the jobs (and OTA) features against the stand-in, in either
// engine, for the end-to-end jobs and OTA tests: one stand-in per suite, a device per test,
// restarts as the host runtimes make them.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateJobCommand, CreateThingCommand, DescribeJobExecutionCommand, type JobExecution } from "@aws-sdk/client-iot";
import type { DeviceStatus } from "../../firmware/boot/status.js";
import { decodeContainer } from "../../firmware/credentials/container.js";
import { encodeContainer } from "../../firmware/credentials/encode.js";
import { prepareDemo } from "../../host/cli/demo-setup.js";
import { startIotCore, type IotCore } from "../../host/iotcore/index.js";
import { jobsManifest } from "../../host/runtime/composition.js";
import { runDeviceInNode } from "../../host/runtime/node/device.js";
import { runDeviceInXs } from "../../host/runtime/xs/device.js";
import { iotClient } from "../iotcore/helpers.js";

export type Engine = "xs" | "node";

export interface Bench {
  core: IotCore;
  dir: string;
  close(): Promise<void>;
}

export async function startBench(): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), "jobs-device-"));
  const core = await startIotCore({ stateDir: join(dir, "iotcore"), host: "127.0.0.1", ports: { mqtt: 0, https: 0, control: 0 }, log: () => {} });
  return {
    core, dir,
    async close() {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface JobsDevice {
  thing: string;
  engine: Engine;
  lines: string[];
  statuses: DeviceStatus[];
  storageDir: string;
  readonly restarts: number;
  /** Creates a job for this thing with `document`. */
  createJob(jobId: string, document: Record<string, unknown>): Promise<void>;
  /** DescribeJobExecution until `done` holds (at most `ms`); the last execution seen. */
  execution(jobId: string, done?: (e: JobExecution) => boolean, ms?: number): Promise<JobExecution>;
  stop(): Promise<void>;
}

const TERMINAL = ["SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED", "REMOVED"];

export async function startDevice(bench: Bench, engine: Engine, thing: string, options: { ota?: boolean; config?: Record<string, unknown>; codeSigners?: [string, Uint8Array][] }): Promise<JobsDevice> {
  const setup = await prepareDemo(bench.core, {
    mode: "mtls", provisioning: "none", outDir: join(bench.dir, "dev", thing), iotcoreStateDir: join(bench.dir, "iotcore"), thingName: thing,
    config: { telemetryIntervalMs: 2000, ...options.config },
  });
  let image = setup.image;
  if (options.codeSigners) {
    const contents = decodeContainer(image);
    if (!contents.ok) throw new Error(contents.failure.message);
    const encoded = encodeContainer({ ...contents.value, codeSigners: options.codeSigners });
    if (!encoded.ok) throw new Error(encoded.failure.message);
    image = encoded.value;
  }
  const lines: string[] = [];
  const statuses: DeviceStatus[] = [];
  const storageDir = join(bench.dir, "storage", thing);
  const common = {
    manifest: jobsManifest("mtls", options.ota), config: setup.config, credentialsImage: image, storageDir,
    log: (line: string) => lines.push(line), onStatus: (s: DeviceStatus) => void statuses.push(s),
  };
  const running = engine === "xs"
    ? await runDeviceInXs({ ...common, onFailure: (e) => lines.push(`XS FAILED: ${e.message}`) })
    : await runDeviceInNode(common);
  const iot = iotClient(bench.core);
  // Provisioning "none" registers the certificate only; jobs target a thing.
  const { thingArn: arn } = await iot.send(new CreateThingCommand({ thingName: thing }));
  return {
    thing, engine, lines, statuses, storageDir,
    get restarts() { return running.restarts; },
    async createJob(jobId, document) {
      await iot.send(new CreateJobCommand({ jobId, targets: [arn!], document: JSON.stringify(document) }));
    },
    async execution(jobId, done = (e) => TERMINAL.includes(e.status ?? ""), ms = 20_000) {
      const end = Date.now() + ms;
      for (;;) {
        const { execution } = await iot.send(new DescribeJobExecutionCommand({ jobId, thingName: thing }));
        if (done(execution!) || Date.now() > end) return execution!;
        await new Promise((wake) => setTimeout(wake, 100));
      }
    },
    stop: () => running.stop(),
  };
}
