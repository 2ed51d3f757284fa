// The fleet run's side of the stand-in child process (standin.ts): start it, collect its
// CONNECT decisions, ask for its CPU and memory, and restart it on the same ports and state.

import { fork, type ChildProcess } from "node:child_process";
import type { ConnectRecord, StandInCommand, StandInMessage, StandInSpec } from "./standin.js";

type Ready = Extract<StandInMessage, { type: "ready" }>;

export interface StandInUsage {
  /** CPU time of every stand-in process of the run, summed (ms) */
  cpuMs: number;
  /** the largest resident set size seen (bytes) */
  peakRssBytes: number;
  /** the largest V8 heap in use seen (bytes) */
  peakHeapUsedBytes: number;
}

const ENTRY = new URL("./standin.ts", import.meta.url);

export class StandInProcess {
  private child?: ChildProcess;
  private cpuOfEnded = 0;
  private lastCpu = 0;
  private peakRss = 0;
  private peakHeap = 0;
  private sampler?: NodeJS.Timeout;
  private usageWaiters: (() => void)[] = [];
  ready!: Ready;

  private constructor(private readonly spec: StandInSpec, private readonly onConnects: (records: ConnectRecord[]) => void) {}

  /** Starts the stand-in; rejects with its sentence when it cannot start. */
  static async start(spec: StandInSpec, onConnects: (records: ConnectRecord[]) => void): Promise<StandInProcess> {
    const process = new StandInProcess(spec, onConnects);
    await process.launch(spec.ports);
    return process;
  }

  private launch(ports: StandInSpec["ports"]): Promise<void> {
    return new Promise((resolve, reject) => {
      // The parent's execArgv (tsx's loader) comes along, so the child runs the TypeScript source.
      const child = fork(ENTRY, [JSON.stringify({ ...this.spec, ports })], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
      this.child = child;
      this.lastCpu = 0;
      child.on("message", (message: StandInMessage) => {
        if (message.type === "ready") {
          this.ready = message;
          resolve();
        } else if (message.type === "failed") {
          reject(new Error(`the stand-in did not start: ${message.message}`));
        } else if (message.type === "connects") {
          this.onConnects(message.records);
        } else if (message.type === "usage") {
          this.lastCpu = (message.cpuMicros.user + message.cpuMicros.system) / 1000;
          this.peakRss = Math.max(this.peakRss, message.rssBytes);
          this.peakHeap = Math.max(this.peakHeap, message.heapUsedBytes);
          for (const wake of this.usageWaiters.splice(0)) wake();
        }
      });
      child.once("exit", (code) => {
        this.cpuOfEnded += this.lastCpu;
        this.lastCpu = 0;
        for (const wake of this.usageWaiters.splice(0)) wake();
        reject(new Error(`the stand-in process ended (exit ${code}) before it was ready; see ${this.spec.logFile}`));
      });
      clearInterval(this.sampler);
      this.sampler = setInterval(() => this.send({ type: "usage" }), 1000);
      this.sampler.unref();
    });
  }

  private send(command: StandInCommand): void {
    if (this.child?.connected) this.child.send(command);
  }

  /** Asks for a fresh CPU and memory sample and returns the run's totals so far. */
  async usage(): Promise<StandInUsage> {
    if (this.child?.connected) {
      await new Promise<void>((wake) => {
        this.usageWaiters.push(wake);
        this.send({ type: "usage" });
        setTimeout(wake, 2000).unref();
      });
    }
    return { cpuMs: Math.round(this.cpuOfEnded + this.lastCpu), peakRssBytes: this.peakRss, peakHeapUsedBytes: this.peakHeap };
  }

  /** Stops the process (the stand-in closes; SIGKILL after 10 s) and resolves when it has exited. */
  async stop(): Promise<void> {
    clearInterval(this.sampler);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await this.usage();
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.send({ type: "stop" });
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(kill);
  }

  /** Stops the stand-in and starts it again on the same ports with the same state directory; resolves when it listens again. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch(this.ready.ports);
  }
}
