// Shared test helpers for the IoT Core stand-in: a temporary state dir, a started core, device
// PKI made with certs/pki, mqtt.js clients with bounded waits, and external CLIs.
import { execFile } from "node:child_process";
import { request as httpRequest } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import * as mqttPacket from "mqtt-packet";
import mqtt, { type IClientOptions, type MqttClient, type Packet } from "mqtt";
import { Sha256 } from "@aws-crypto/sha256-js";
import { IoTClient } from "@aws-sdk/client-iot";
import { SignatureV4 } from "@smithy/signature-v4";
import { createRootCa, issueCertificate, type Issued, type Subject } from "../../certs/pki.js";
import { startIotCore, type IotCore, type IotCoreOptions } from "../../host/iotcore/index.js";

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `iotcore-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startCore(stateDir: string, options: Partial<IotCoreOptions> = {}): Promise<IotCore & { lines: string[] }> {
  const lines: string[] = [];
  const core = await startIotCore({ stateDir, provisioningDelayMs: 50, connectIntervalMs: 0, log: (line) => lines.push(line), ...options });
  return Object.assign(core, { lines });
}

/** A device CA, and a device certificate it issued. */
export async function devicePki(subject: Subject): Promise<{ ca: Issued; device: Issued }> {
  const ca = await createRootCa({ subject: { commonName: "Test Device Root CA", country: "IN", organization: "AMZ" } });
  const device = await issueCertificate({ issuer: ca, subject, kind: "client" });
  return { ca, device };
}

export const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iot:*", Resource: "*" }] });

/** Registers an ACTIVE certificate (no CA) with policies attached, and optionally a thing. */
export function registerDevice(core: IotCore, device: Issued, policyDocuments: string[], thingName?: string): string {
  const record = core.registry.registerCertificate({ certificatePem: device.certPem, status: "ACTIVE" });
  policyDocuments.forEach((document, i) => {
    const name = `p-${record.certificateId.slice(0, 8)}-${i}`;
    core.registry.createPolicy(name, document);
    core.registry.attachPolicy(name, record.certificateArn);
  });
  if (thingName) {
    core.registry.createThing({ thingName });
    core.registry.attachThingPrincipal(thingName, record.certificateArn);
  }
  return record.certificateId;
}

/**
 * A client certificate for `commonName` from a fresh CA of its own, registered ACTIVE (without
 * its CA) with `policyDocuments` attached and optionally a thing: the usual test device.
 */
export async function registeredDevice(core: IotCore, commonName: string, policyDocuments = [ALLOW_ALL], thingName?: string): Promise<Issued> {
  const ca = await createRootCa({ subject: { commonName: `${commonName} CA` } });
  const device = await issueCertificate({ issuer: ca, subject: { commonName }, kind: "client" });
  registerDevice(core, device, policyDocuments, thingName);
  return device;
}

export type ConnectResult = { client: MqttClient; connack?: { returnCode?: number }; closedBeforeConnack: boolean };

/** Connects mqtt.js over mTLS; resolves on CONNACK, refusal or close (bounded by 5 s). */
export function connectMtls(core: IotCore, device: { certPem: string; key: { privateKeyPem: string } } | undefined, options: IClientOptions & { chainPem?: string; port?: number } = {}): Promise<ConnectResult> {
  const client = mqtt.connect({
    protocol: "mqtts", host: "127.0.0.1", port: options.port ?? core.ports.mqtt, servername: core.endpoint,
    ca: core.serverCaPem, cert: options.chainPem ?? device?.certPem, key: device?.key.privateKeyPem,
    reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, clean: true,
    ...options,
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ client, closedBeforeConnack: true }), 5000);
    const finish = (result: ConnectResult) => { clearTimeout(timer); resolve(result); };
    client.once("connect", (connack) => finish({ client, connack, closedBeforeConnack: false }));
    client.once("error", (error: Error & { code?: number }) => {
      if (typeof error.code === "number") finish({ client, connack: { returnCode: error.code }, closedBeforeConnack: false });
    });
    client.once("close", () => finish({ client, closedBeforeConnack: true }));
  });
}

export function endClient(client: MqttClient | undefined): Promise<void> {
  return new Promise((resolve) => (client ? client.end(true, {}, () => resolve()) : resolve()));
}

/** Resolves when the client closes, or false after `ms`. */
export function closed(client: MqttClient, ms = 5000): Promise<boolean> {
  if (!client.connected && (client as unknown as { disconnected?: boolean }).disconnected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    client.once("close", () => { clearTimeout(timer); resolve(true); });
  });
}

export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 15000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The environment a user gets from the stand-in's ready line: the AWS CLI's shared credentials
 * and config files it wrote in its state directory, and nothing else from the caller's AWS set-up.
 */
export function awsEnv(core: IotCore): NodeJS.ProcessEnv {
  return {
    AWS_SHARED_CREDENTIALS_FILE: core.cliFiles.credentialsFile, AWS_CONFIG_FILE: core.cliFiles.configFile,
    AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined,
    AWS_PAGER: "", AWS_EC2_METADATA_DISABLED: "true",
  };
}

/** The AWS CLI's JSON output, whose shape each test knows from the command it ran. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AwsCliOutput = any;

/** Runs `aws <service> <args> --endpoint-url <control>` (awscli on PATH) and parses the JSON output. */
export async function awsCli(core: IotCore, service: string, args: string[], options: { cwd?: string; command?: string } = {}): Promise<{ code: number; json?: AwsCliOutput; stdout: string; stderr: string }> {
  const result = await run(options.command ?? "aws", [service, ...args, "--endpoint-url", core.controlUrl, "--output", "json"], { cwd: options.cwd, env: awsEnv(core), timeoutMs: 30000 });
  let json: unknown;
  try { json = result.stdout.trim() ? JSON.parse(result.stdout) : undefined; } catch { json = undefined; }
  return { code: result.code, json, stdout: result.stdout, stderr: result.stderr };
}

/** The AWS SDK error a call rejects with (name, message, HTTP status); throws when the call succeeds. */
export async function sdkError(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("expected the call to fail");
}

/** Runs `aws iot <args> --endpoint-url <control>` and parses the JSON output. */
export function awsIot(core: IotCore, args: string[], cwd?: string): Promise<{ code: number; json?: AwsCliOutput; stderr: string }> {
  return awsCli(core, "iot", args, { cwd });
}

/** An @aws-sdk/client-iot client signed with the stand-in's account key (or other credentials). */
export function iotClient(core: IotCore, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = core.accountKey, region = core.region): IoTClient {
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  return new IoTClient({ endpoint: core.controlUrl, region, credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } });
}

/**
 * Points this process's AWS SDK credential chain at the stand-in's CLI files (for code under
 * test that builds its clients from the default chain); returns a function restoring the environment.
 */
export function useCliCredentials(core: IotCore): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(awsEnv(core))) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * Sends a raw HTTP request to the control plane, SigV4-signed with the account key for
 * `service` (unless `sign` is false): for requests no SDK would build.
 */
export async function controlRequest(core: IotCore, method: string, path: string, options: { body?: string; headers?: Record<string, string>; service?: string; sign?: boolean } = {}): Promise<{ status: number; type: string | null; requestId: string | null; body: string }> {
  const url = new URL(path, core.controlUrl);
  const headers: Record<string, string> = { host: url.host, ...(options.headers ?? {}) };
  if (options.sign !== false) {
    const signer = new SignatureV4({ credentials: core.accountKey, region: core.region, service: options.service ?? "iot", sha256: Sha256 });
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => { query[k] = v; });
    const signed = await signer.sign({ method, protocol: "http:", hostname: url.hostname, port: Number(url.port), path: url.pathname, query, headers, body: options.body });
    Object.assign(headers, signed.headers);
  }
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, method, path: path.startsWith("/") ? path : url.pathname + url.search, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (c: Buffer) => chunks.push(c));
      response.on("end", () => resolve({
        status: response.statusCode ?? 0, type: (response.headers["x-amzn-errortype"] as string | undefined) ?? null,
        requestId: (response.headers["x-amzn-requestid"] as string | undefined) ?? null, body: Buffer.concat(chunks).toString("utf8"),
      }));
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

/** Waits until `predicate` holds, polling every 20 ms, up to `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return predicate();
}

/** Sends one SUBSCRIBE and resolves the SUBACK's return codes in order (0x80 included). */
export function subscribeCodes(client: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no SUBACK within 5 s")), 5000);
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== "suback") return;
      clearTimeout(timer);
      client.removeListener("packetreceive", onPacket);
      resolve((packet.granted ?? []) as number[]);
    };
    client.on("packetreceive", onPacket);
    client.subscribe(filters, () => undefined);
  });
}

export type RawClient = Awaited<ReturnType<typeof rawClient>>;

/** A bare MQTT 3.1.1 client on a TLS socket: sends what it is told, never acknowledges anything. */
export async function rawClient(core: IotCore, device: Issued, connect: Partial<mqttPacket.IConnectPacket>) {
  const socket = tls.connect({ host: "127.0.0.1", port: core.ports.mqtt, servername: core.endpoint, ca: core.serverCaPem, cert: device.certPem, key: device.key.privateKeyPem });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  let isClosed = false;
  socket.on("data", (chunk) => parser.parse(chunk));
  socket.on("error", () => undefined);
  socket.on("close", () => { isClosed = true; });
  parser.on("packet", (packet) => packets.push(packet));
  await new Promise<void>((resolve, reject) => { socket.once("secureConnect", () => resolve()); socket.once("error", reject); });
  const send = (...list: mqttPacket.Packet[]) => socket.write(Buffer.concat(list.map((packet) => mqttPacket.generate(packet))));
  send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, clientId: "raw", keepalive: 60, ...connect } as mqttPacket.IConnectPacket);
  return { socket, packets, send, get closed() { return isClosed; } };
}
