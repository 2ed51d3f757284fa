// Local functions in place of AWS Lambda: `<stateDir>/functions/<name>.mjs` (or `.js`),
// exporting `handler(event, context)`, referred to as
// `arn:aws:lambda:<region>:<account>:function:<name>`. Each function runs warm in its own
// worker thread with a Lambda-like environment, so code written for Lambda that builds
// `new IoTClient({})` reaches the stand-in's control plane through AWS_ENDPOINT_URL_IOT.

import { randomUUID } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { fail, ok, type Result } from "../../../../firmware/platform/failure.js";

export interface LocalFunctionsOptions {
  stateDir: string;
  region: string;
  accountId: string;
  /** Extra environment for every function, read at each worker start (ports and keys are known late). */
  environment?: () => Record<string, string>;
  /** Lambda's timeout; custom authorizers get 5 s on AWS. Default 5000. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

interface Warm {
  worker: Worker;
  mtimeMs: number;
  pending: Map<number, (reply: WorkerReply) => void>;
}

interface WorkerReply { id: number; ok: boolean; value?: unknown; errorType?: string; errorMessage?: string }

const WORKER_URL = new URL("./worker.mjs", import.meta.url);

export class LocalFunctions {
  private readonly warm = new Map<string, Warm>();
  private nextId = 1;

  constructor(private readonly options: LocalFunctionsOptions) {}

  /** The Lambda-style ARN of a function name. */
  arn(name: string): string {
    return `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${name}`;
  }

  /** Returns the function name an ARN (or a bare name) refers to, or undefined if malformed. */
  nameOf(arnOrName: string): string | undefined {
    const m = /^arn:aws:lambda:([^:]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::[$A-Za-z0-9_-]+)?$/.exec(arnOrName);
    if (m) return m[1] === this.options.region && m[2] === this.options.accountId ? m[3] : undefined;
    return /^[A-Za-z0-9_-]{1,64}$/.test(arnOrName) ? arnOrName : undefined;
  }

  /** Returns the module file of a function, or undefined when neither .mjs nor .js exists. */
  fileOf(arnOrName: string): string | undefined {
    const name = this.nameOf(arnOrName);
    if (!name) return undefined;
    return [".mjs", ".js"].map((ext) => join(this.options.stateDir, "functions", name + ext)).find((f) => existsSync(f));
  }

  /**
   * Runs the function with `event` and returns what its handler returned (JSON-copied), or a
   * Failure: "function-not-found", "function-error" (the handler threw) or "function-timeout".
   */
  async invoke(arnOrName: string, event: unknown): Promise<Result<unknown>> {
    const file = this.fileOf(arnOrName);
    const name = this.nameOf(arnOrName);
    if (!file || !name) {
      return fail("function-not-found", `no function ${arnOrName}: put ${join(this.options.stateDir, "functions", "<name>.mjs")} and use ARN ${this.arn("<name>")}`);
    }
    const warm = this.start(name, file);
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutMs ?? 5000;
    const reply = await new Promise<WorkerReply | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      warm.pending.set(id, (r) => { clearTimeout(timer); resolve(r); });
      warm.worker.postMessage({ id, event, requestId: randomUUID() });
    });
    warm.pending.delete(id);
    if (!reply) {
      this.stop(name);
      return fail("function-timeout", `function ${name} did not answer within ${timeoutMs} ms`, true);
    }
    if (!reply.ok) return fail("function-error", `function ${name} failed: ${reply.errorType}: ${reply.errorMessage}`);
    return ok(reply.value);
  }

  /** Stops every warm worker. */
  async close(): Promise<void> {
    await Promise.all([...this.warm.keys()].map((name) => this.stop(name)));
  }

  private start(name: string, file: string): Warm {
    const mtimeMs = statSync(file).mtimeMs;
    const existing = this.warm.get(name);
    if (existing && existing.mtimeMs === mtimeMs) return existing;
    if (existing) void this.stop(name);
    const { region } = this.options;
    const worker = new Worker(WORKER_URL, {
      workerData: { file, functionName: name, functionArn: this.arn(name), timeoutMs: this.options.timeoutMs ?? 5000 },
      env: {
        ...process.env,
        AWS_REGION: region, AWS_DEFAULT_REGION: region, AWS_LAMBDA_FUNCTION_NAME: name,
        ...this.options.environment?.(),
      },
      stdout: true, stderr: true,
    });
    const warm: Warm = { worker, mtimeMs, pending: new Map() };
    for (const stream of [worker.stdout, worker.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        for (const line of chunk.split("\n")) if (line.trim()) this.options.log?.(`function ${name}: ${line}`);
      });
    }
    worker.on("message", (reply: WorkerReply) => warm.pending.get(reply.id)?.(reply));
    worker.on("error", (error) => {
      this.options.log?.(`function ${name}: crashed: ${error.message}`);
      for (const [id, settle] of warm.pending) settle({ id, ok: false, errorType: error.name, errorMessage: error.message });
    });
    worker.unref();
    this.warm.set(name, warm);
    return warm;
  }

  private async stop(name: string): Promise<void> {
    const warm = this.warm.get(name);
    this.warm.delete(name);
    if (warm) await warm.worker.terminate();
  }
}
