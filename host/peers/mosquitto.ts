// Starts Debian's `mosquitto` on a loopback port with TLS and, by default, required client
// certificates, for integration tests and benchmarks. Its config, keys and persistence file
// live in a temporary folder that stop() removes.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface MosquittoOptions {
  /** PEM of the CA that signs client certificates (and usually the server's). */
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Default true: a client without a certificate from `caPem` is refused in the handshake. */
  requireCertificate?: boolean;
  /** Extra lines for mosquitto.conf. */
  extraConfig?: string[];
  /** Bound on each wait (start, stop); default 10 s. */
  timeoutMs?: number;
}

export interface Mosquitto {
  host: "127.0.0.1";
  port: number;
  /** Everything mosquitto printed so far, for failure messages. */
  output(): string;
  /** Stops (SIGTERM, so it saves its persistent sessions) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. Harmless to call twice. */
  stop(): Promise<void>;
}

/** Resolves once mosquitto accepts TCP connections; rejects with its output if it does not start. */
export async function startMosquitto(opts: MosquittoOptions): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "mosquitto-test-"));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  writeFileSync(join(dir, "ca.pem"), opts.caPem);
  writeFileSync(join(dir, "server.pem"), opts.serverCertPem);
  writeFileSync(join(dir, "server.key"), opts.serverKeyPem, { mode: 0o600 });
  let log = "";
  let child: ChildProcess | undefined;

  const launch = async (port: number) => {
    writeFileSync(join(dir, "mosquitto.conf"), config(dir, port, opts).join("\n") + "\n");
    const proc = spawn("mosquitto", ["-c", join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    proc.stdout!.on("data", (d) => { log += d; });
    proc.stderr!.on("data", (d) => { log += d; });
    const exited = new Promise<never>((_, reject) => proc.once("exit", (code) => reject(new Error(`mosquitto exited (${code}):\n${log}`))));
    exited.catch(() => {});
    await Promise.race([waitForListener(port, timeoutMs), exited]);
  };

  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    await gone;
    clearTimeout(timer);
  };

  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch(port);
      break;
    } catch (e) {
      await halt();
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }

  return {
    host: "127.0.0.1",
    port,
    output: () => log,
    async restart() {
      await halt();
      await launch(port);
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function config(dir: string, port: number, opts: MosquittoOptions): string[] {
  return [
    // Started as root (CI), mosquitto would drop to the `mosquitto` user and fail to read the key.
    "user root",
    "per_listener_settings false",
    "allow_anonymous true",
    "persistence true",
    `persistence_location ${dir}/`,
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "max_inflight_messages 100",
    "max_queued_messages 10000",
    `listener ${port} 127.0.0.1`,
    `cafile ${join(dir, "ca.pem")}`,
    `certfile ${join(dir, "server.pem")}`,
    `keyfile ${join(dir, "server.key")}`,
    `require_certificate ${opts.requireCertificate === false ? "false" : "true"}`,
    ...(opts.extraConfig ?? []),
  ];
}

/** A port the kernel just handed out on loopback (mosquitto cannot listen on port 0 itself). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForListener(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
