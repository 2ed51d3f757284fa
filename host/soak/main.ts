// `npm run soak -- [--seconds 30] [--workers 20] [--json]`: the stand-in (`npm run iotcore`, its
// own process, loopback, ephemeral ports) under malformed, half-open and bursty connections for
// a bounded time, then one well-behaved client. Reports the stand-in's resident memory (start,
// peak, end), what each kind of abuse got, and whether the good client was still served.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import * as mqttPacket from "mqtt-packet";
import { createRootCa, issueCertificate, type Issued } from "../../certs/pki.js";
import { commandLine, oneOf, runCli, wholeNumber, type CommandSpec } from "../cli/command-line.js";
import { Registry } from "../iotcore/registry/registry.js";
import { remainingLength } from "./raw-mqtt.js";

const COMMAND = {
  name: "npm run soak --",
  summary: "Throws malformed, half-open and bursty connections at the stand-in for a bounded time, then checks that a good client is still served; reports the stand-in's memory.",
  options: {
    seconds: { value: "N", help: "how long to attack (default 30)" },
    workers: { value: "N", help: "connections under way at once (default 20)" },
    json: { kind: "flag", help: "print one JSON object instead of the text report" },
    log: { value: "FILE", help: "write the stand-in's log lines to FILE" },
    kinds: { value: "LIST", help: "only these kinds of connection, comma-separated (default: all)" },
  },
} satisfies CommandSpec;

const KINDS = ["oversized-connect", "garbage", "not-connect-first", "half-open-tcp", "half-open-tls", "partial-connect", "publish-burst", "reconnect-storm"] as const;
type Kind = typeof KINDS[number];

interface Ready { endpoint: string; ports: { mqtt: number; https: number }; serverCaFile: string }
interface Tally { attempts: number; closedByServer: number; closedByUs: number }

/** The stand-in's resident set in bytes (Linux /proc), or undefined when unreadable. */
function residentBytes(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function startStandIn(stateDir: string): Promise<{ child: ChildProcess; ready: Ready; log: string[] }> {
  const child = spawn(process.execPath, ["--import", "tsx", "host/iotcore/main.ts", "--state", stateDir, "--mqtt-port", "0", "--https-port", "0", "--control-port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  let partial = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (log.length < 200_000) log.push(line);
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the stand-in did not start within 30 s")), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (!out.includes("\n")) return;
      clearTimeout(timer);
      resolve({ child, ready: JSON.parse(out.split("\n")[0]!) as Ready, log });
    });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`the stand-in exited with ${code} before it was ready`)); });
  });
}

/** Resolves true when the server closes the socket within `ms`, false when we had to. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  socket.resume();   // read (and drop) what the server sends, or its end would never be seen
  return new Promise((resolve) => {
    const timer = setTimeout(() => { socket.destroy(); resolve(false); }, ms);
    socket.once("close", () => { clearTimeout(timer); resolve(true); });
  });
}


class Attacker {
  readonly tallies = new Map<Kind, Tally>(KINDS.map((k) => [k, { attempts: 0, closedByServer: 0, closedByUs: 0 }]));
  private serial = 0;

  constructor(private readonly ready: Ready, private readonly ca: string, private readonly device: Issued) {}

  private tls(withCertificate: boolean): Promise<tls.TLSSocket> {
    const socket = tls.connect({
      host: "127.0.0.1", port: this.ready.ports.mqtt, servername: this.ready.endpoint, ca: this.ca,
      ...(withCertificate ? { cert: this.device.certPem, key: this.device.key.privateKeyPem } : {}),
    });
    socket.on("error", () => undefined);
    return new Promise((resolve, reject) => {
      socket.once("secureConnect", () => resolve(socket));
      socket.once("close", () => reject(new Error("closed during the handshake")));
    });
  }

  private connectPacket(clientId: string): Buffer {
    return mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId, keepalive: 60 });
  }

  /** One abusive connection of `kind`; resolves when it has ended (the server's doing or ours). */
  async run(kind: Kind): Promise<void> {
    const tally = this.tallies.get(kind)!;
    tally.attempts++;
    const count = (byServer: boolean) => { if (byServer) tally.closedByServer++; else tally.closedByUs++; };
    try {
      switch (kind) {
        case "oversized-connect": {
          const socket = await this.tls(false);
          socket.write(Buffer.concat([Buffer.from([0x10]), remainingLength(200 * 1024 * 1024), randomBytes(64)]));
          return count(await closedWithin(socket, 15_000));
        }
        case "garbage": {
          const socket = await this.tls(Math.random() < 0.5);
          socket.write(randomBytes(1 + Math.floor(Math.random() * 4000)));
          return count(await closedWithin(socket, 15_000));
        }
        case "not-connect-first": {
          const socket = await this.tls(false);
          socket.write(mqttPacket.generate({ cmd: "pingreq" }));
          return count(await closedWithin(socket, 15_000));
        }
        case "half-open-tcp": {
          const socket = tcpConnect({ host: "127.0.0.1", port: this.ready.ports.mqtt });
          socket.on("error", () => undefined);
          return count(await closedWithin(socket, 15_000));
        }
        case "half-open-tls": {
          const socket = await this.tls(false);
          return count(await closedWithin(socket, 15_000));
        }
        case "partial-connect": {
          const socket = await this.tls(true);
          socket.write(this.connectPacket(`soak-partial-${this.serial++}`).subarray(0, 8));
          return count(await closedWithin(socket, 15_000));
        }
        case "publish-burst": {
          const socket = await this.tls(true);
          const publish = mqttPacket.generate({ cmd: "publish", topic: "soak/burst", payload: randomBytes(2000), qos: 0, retain: false, dup: false });
          socket.write(this.connectPacket(`soak-burst-${this.serial++}`));
          for (let i = 0; i < 300; i++) socket.write(publish);
          socket.end(mqttPacket.generate({ cmd: "disconnect" }));
          return count(await closedWithin(socket, 15_000));
        }
        case "reconnect-storm": {
          const id = `soak-storm-${this.serial++ % 5}`;
          const sockets = await Promise.all([0, 1, 2].map(() => this.tls(true)));
          for (const socket of sockets) socket.write(this.connectPacket(id));
          const closed = await Promise.all(sockets.map((socket) => closedWithin(socket, 3000)));
          return count(closed.some(Boolean));
        }
      }
    } catch {
      count(true);   // refused during the handshake
    }
  }
}

/** A fresh device connects with its certificate, subscribes, publishes QoS 1 and gets its message back. */
async function goodClientServed(ready: Ready, ca: string, device: Issued): Promise<{ served: boolean; roundTripMs?: number; why?: string }> {
  const socket = tls.connect({ host: "127.0.0.1", port: ready.ports.mqtt, servername: ready.endpoint, ca, cert: device.certPem, key: device.key.privateKeyPem });
  socket.on("error", () => undefined);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const seen: mqttPacket.Packet[] = [];
  socket.on("data", (chunk: Buffer) => parser.parse(chunk));
  parser.on("packet", (packet) => seen.push(packet));
  const waitFor = async (cmd: string, ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (seen.some((p) => p.cmd === cmd)) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  };
  try {
    await new Promise<void>((resolve, reject) => { socket.once("secureConnect", () => resolve()); socket.once("close", () => reject(new Error("closed during the handshake"))); });
    const started = Date.now();
    socket.write(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: "soak-good", keepalive: 60 }));
    if (!(await waitFor("connack", 10_000))) return { served: false, why: "no CONNACK within 10 s" };
    socket.write(mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "soak/good", qos: 1 }] }));
    if (!(await waitFor("suback", 10_000))) return { served: false, why: "no SUBACK within 10 s" };
    socket.write(mqttPacket.generate({ cmd: "publish", topic: "soak/good", payload: Buffer.from("still served"), qos: 1, messageId: 2, retain: false, dup: false }));
    if (!(await waitFor("publish", 10_000))) return { served: false, why: "its own QoS 1 message did not come back within 10 s" };
    return { served: true, roundTripMs: Date.now() - started };
  } catch (error) {
    return { served: false, why: (error as Error).message };
  } finally {
    socket.destroy();
  }
}

async function main(): Promise<number> {
  const parsed = commandLine(COMMAND, process.argv.slice(2));
  if (!parsed) return 0;
  const seconds = wholeNumber("seconds", parsed.values.seconds ?? "30", 1, 86_400);
  const workers = wholeNumber("workers", parsed.values.workers ?? "20", 1, 500);
  const kinds = parsed.values.kinds === undefined ? [...KINDS] : parsed.values.kinds.split(",").map((kind) => oneOf("kinds", kind.trim(), KINDS));
  const stateDir = mkdtempSync(join(tmpdir(), "iotcore-soak-"));
  let child: ChildProcess | undefined;
  try {
    // The device and its policy go into the registry before the stand-in starts and loads it.
    const registry = new Registry({ stateDir, region: "us-east-1", accountId: "123456789012", now: () => Date.now(), randomHex: (n) => randomBytes(n).toString("hex") });
    const deviceCa = await createRootCa({ subject: { commonName: "Soak Device CA" } });
    const device = await issueCertificate({ issuer: deviceCa, kind: "client", subject: { commonName: "soak-device" } });
    const record = registry.registerCertificate({ certificatePem: device.certPem, status: "ACTIVE" });
    registry.createPolicy("soak-allow-all", JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:*", Resource: "*" }] }));
    registry.attachPolicy("soak-allow-all", record.certificateArn);

    const started = await startStandIn(stateDir);
    child = started.child;
    const pid = child.pid!;
    const ca = readFileSync(started.ready.serverCaFile, "utf8");
    const before = await goodClientServed(started.ready, ca, device);
    const memory = { start: residentBytes(pid) ?? 0, peak: 0, end: 0 };
    memory.peak = memory.start;
    const sampler = setInterval(() => { memory.peak = Math.max(memory.peak, residentBytes(pid) ?? 0); }, 250);

    const attacker = new Attacker(started.ready, ca, device);
    const until = Date.now() + seconds * 1000;
    await Promise.all(Array.from({ length: workers }, async () => {
      while (Date.now() < until) await attacker.run(kinds[Math.floor(Math.random() * kinds.length)]!);
    }));
    clearInterval(sampler);
    const after = await goodClientServed(started.ready, ca, device);
    memory.end = residentBytes(pid) ?? 0;
    memory.peak = Math.max(memory.peak, memory.end);

    if (parsed.values.log) writeFileSync(parsed.values.log, `${started.log.join("\n")}\n`);
    const refusals: Record<string, number> = {};
    for (const line of started.log) {
      const match = /^\S+ (connection refused|tls handshake failed|tls refused|connect refused|publish throttled|publish denied|publish delayed): (?:.*?: )?(no CONNECT within|a CONNECT declaring|the first packet is|a type \d+ packet declaring|TLS handshake timeout|more than \d+ bytes sent before)?/.exec(line);
      if (match) refusals[`${match[1]}${match[2] ? `: ${match[2]}` : ""}`] = (refusals[`${match[1]}${match[2] ? `: ${match[2]}` : ""}`] ?? 0) + 1;
    }
    const report = {
      seconds, workers,
      connections: Object.fromEntries(attacker.tallies),
      memoryMiB: { start: mib(memory.start), peak: mib(memory.peak), end: mib(memory.end) },
      goodClientBefore: before, goodClientAfter: after,
      refusalsLogged: refusals,
    };
    if (parsed.values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(`soak: ${seconds} s, ${workers} connections at a time against the stand-in (pid ${pid})\n`);
      for (const [kind, tally] of attacker.tallies) process.stdout.write(`  ${kind}: ${tally.attempts} connections, ${tally.closedByServer} ended by the stand-in, ${tally.closedByUs} ended by us after waiting\n`);
      process.stdout.write(`  stand-in memory (RSS): ${report.memoryMiB.start} MiB at start, ${report.memoryMiB.peak} MiB peak, ${report.memoryMiB.end} MiB at the end\n`);
      process.stdout.write(`  good client before: ${before.served ? `served (${before.roundTripMs} ms)` : `NOT served: ${before.why}`}; after: ${after.served ? `served (${after.roundTripMs} ms)` : `NOT served: ${after.why}`}\n`);
      for (const [what, n] of Object.entries(refusals).sort()) process.stdout.write(`  logged ${n}x ${what}\n`);
    }
    return after.served ? 0 : 1;
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child!.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

runCli("npm run soak", main, COMMAND);
