// The stand-in as a child process of a fleet run, so that its CPU time and memory are its own
// and a restart is a real process restart (the state directory survives, as a real endpoint's
// registry and persistent sessions do). Started by standin-process.ts with one JSON argument
// (StandInSpec); talks over the IPC channel: it sends `ready` once listening, `connects`
// batches (every CONNECT decision: time, client id, allowed, why refused) and `usage` when
// asked; `stop` closes the stand-in and ends the process. Log lines go to `logFile`.

import { createWriteStream } from "node:fs";
import { startIotCore, type AccountLimits } from "../iotcore/index.js";

export interface StandInSpec {
  stateDir: string;
  ports: { mqtt: number; https: number; httpsMtls: number; control: number };
  accountLimits: Partial<AccountLimits>;
  provisioningDelayMs: number;
  logFile: string;
}

/** One CONNECT decision: [epoch ms, client id, allowed, refusal reason ("" when allowed)]. */
export type ConnectRecord = [number, string, boolean, string];

export type StandInMessage =
  | { type: "ready"; endpoint: string; ports: StandInSpec["ports"]; controlUrl: string; serverCaPem: string; accountKey: { accessKeyId: string; secretAccessKey: string }; accountLimits: AccountLimits }
  | { type: "connects"; records: ConnectRecord[] }
  | { type: "usage"; cpuMicros: { user: number; system: number }; rssBytes: number; heapUsedBytes: number }
  | { type: "failed"; message: string };

export type StandInCommand = { type: "usage" } | { type: "stop" };

async function main(): Promise<void> {
  const send = (message: StandInMessage) => process.send?.(message);
  const spec = JSON.parse(process.argv[2] ?? "{}") as StandInSpec;
  const logFile = createWriteStream(spec.logFile, { flags: "a" });
  let pending: ConnectRecord[] = [];
  const core = await startIotCore({
    stateDir: spec.stateDir,
    host: "127.0.0.1",
    ports: spec.ports,
    provisioningDelayMs: spec.provisioningDelayMs,
    accountLimits: spec.accountLimits,
    log: (line, fields) => {
      logFile.write(`${new Date().toISOString()} ${line}\n`);
      if (fields?.event === "connect" && typeof fields.clientId === "string") {
        pending.push([Date.now(), fields.clientId, fields.outcome === "allowed", typeof fields.reason === "string" ? fields.reason : ""]);
      }
    },
  }).catch((error: Error) => {
    send({ type: "failed", message: error.message });
    process.exit(1);
  });
  const flush = () => {
    if (pending.length) send({ type: "connects", records: pending });
    pending = [];
  };
  const flusher = setInterval(flush, 200);
  process.on("message", (command: StandInCommand) => {
    if (command.type === "usage") {
      const memory = process.memoryUsage();
      send({ type: "usage", cpuMicros: process.cpuUsage(), rssBytes: memory.rss, heapUsedBytes: memory.heapUsed });
    } else if (command.type === "stop") {
      clearInterval(flusher);
      flush();
      void core.close().finally(() => logFile.end(() => process.exit(0)));
    }
  });
  // The parent gone (crashed, killed): nothing is left to report to.
  process.on("disconnect", () => void core.close().finally(() => process.exit(0)));
  send({ type: "ready", endpoint: core.endpoint, ports: core.ports, controlUrl: core.controlUrl, serverCaPem: core.serverCaPem, accountKey: core.accountKey, accountLimits: { ...core.accountLimits } });
}

void main();
