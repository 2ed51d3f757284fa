// A fake of AWS IoT Jobs' and MQTT-based file delivery's device topics (docs/ota.md), for unit
// tests of the jobs and OTA features: the features run in the real feature runtime over a fake
// MQTT session whose messages go through a queue that `flush()` drains in order, so a test
// decides when the network delivers, drops or comes back. A restart boots the features again on
// the same storage and update slot.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Feature, RunningFeatures } from "../../firmware/features/feature.js";
import { startFeatures } from "../../firmware/features/runtime.js";
import { defaultConfig, type DeviceConfig } from "../../firmware/config/config.js";
import type { MqttClient } from "../../firmware/mqtt/client.js";
import type { Platform } from "../../firmware/platform/seam.js";
import { createFileUpdateSlot } from "../../host/runtime/node/update-slot.js";
import { MemoryStorage } from "../credentials/fixtures.js";
import { FakeTime } from "../support/fake-time.js";

export const THING = "dev1";
const JOBS = `$aws/things/${THING}/jobs/`;
const STREAMS = `$aws/things/${THING}/streams/`;

export interface Execution {
  jobId: string;
  jobDocument: Record<string, unknown>;
  status: string;
  statusDetails?: Record<string, string>;
  versionNumber: number;
}

const encoder = new TextEncoder();
const decode = (payload: Uint8Array) => JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;

export class FakeAws {
  readonly time = new FakeTime();
  readonly storage = new MemoryStorage();
  readonly slot = createFileUpdateSlot(mkdtempSync(join(tmpdir(), "fake-slot-")));
  readonly executions: Execution[] = [];
  /** Files by stream id and file id. */
  readonly streams = new Map<string, Map<number, Uint8Array>>();
  /** Every GetStream request the device made, in order. */
  readonly streamRequests: Record<string, unknown>[] = [];
  /** Every UpdateJobExecution request, in order. */
  readonly updates: { jobId: string; body: Record<string, unknown> }[] = [];
  readonly config: DeviceConfig = { ...defaultConfig, thingName: THING, topicPrefix: THING };
  restarts = 0;
  online = false;
  #queue: [string, Uint8Array][] = [];
  #running: RunningFeatures | undefined;
  /** Decides for each block as it is about to reach the device: delivered, lost on the way, or the session drops before it. */
  onBlock: (index: number) => "deliver" | "lose" | "drop" = () => "deliver";

  constructor(readonly features: readonly Feature[], readonly codeSigners: [string, Uint8Array][] = [], readonly settings: Record<string, unknown> = {}) {}

  get platform(): Platform {
    return {
      clock: this.time, timers: this.time, random: () => 0.5, storage: this.storage,
      crypto: { sha256: () => new Uint8Array(32), sha1: () => new Uint8Array(20), hmacSha256: () => new Uint8Array(32) },
      log: this.time.log,
      openTransport: () => { throw new Error("no network here"); },
      restart: () => { this.restarts++; this.boot(); },
      update: this.slot,
    };
  }

  /** Starts (or restarts: RAM lost, storage and slot kept) the features; the session comes up at `connect()`. */
  boot(): void {
    this.#running?.stop();
    this.online = false;
    this.#queue = [];
    const checked = startFeatures.check(this.features, this.settings);
    if (!checked.ok) throw new Error(checked.failure.message);
    const client = {
      publish: (topic: string, payload: Uint8Array) => {
        if (!this.online) return { code: "offline", message: "offline", retryable: true };
        this.#serve(topic, payload);
      },
      subscribe: (_filters: unknown, done: (granted: number[]) => void) => void done([1]),
    } as unknown as MqttClient;
    const telemetry = { reconfigure: () => {}, stats: { queued: 0 } } as never;
    this.#running = startFeatures({
      platform: this.platform, config: this.config, mode: { name: "mtls" }, features: this.features, featureSettings: checked.value,
      status: () => ({ state: this.online ? "online" : "connecting", message: "", attempts: 1 }),
      report: () => {}, restart: () => {}, stop: () => {},
      credentials: { codeSigners: this.codeSigners },
    }, client, telemetry, () => null);
  }

  connect(): void {
    this.online = true;
    this.#running!.sessionUp();
    this.flush();
  }

  drop(): void {
    this.online = false;
    this.#queue = [];
    this.#running!.sessionDown();
  }

  /** Delivers queued messages (and the answers they cause) until none is left or the session drops. */
  // Messages still queued when the session drops are lost with it.
  flush(): void {
    while (this.online && this.#queue.length) {
      const [topic, payload] = this.#queue.shift()!;
      const fate = topic.endsWith("/data/json") ? this.onBlock(decode(payload).i as number) : "deliver";
      if (fate === "drop") return this.drop();
      if (fate === "deliver") this.#running!.message(topic, payload);
    }
  }

  #send(topic: string, body: Record<string, unknown>): void {
    this.#queue.push([topic, encoder.encode(JSON.stringify(body))]);
  }

  queueJob(jobId: string, jobDocument: Record<string, unknown>): void {
    this.executions.push({ jobId, jobDocument, status: "QUEUED", versionNumber: 1 });
    if (!this.executions.some((e) => e.status === "IN_PROGRESS")) this.#notifyNext();
    this.flush();
  }

  execution(jobId: string): Execution {
    return this.executions.find((e) => e.jobId === jobId)!;
  }

  #next(): Execution | undefined {
    return this.executions.find((e) => e.status === "IN_PROGRESS") ?? this.executions.find((e) => e.status === "QUEUED");
  }

  #notifyNext(): void {
    const next = this.#next();
    this.#send(JOBS + "notify-next", next ? { execution: { ...next }, timestamp: 1 } : { timestamp: 1 });
  }

  /** Returning true answers the device's request with RequestThrottled. */
  throttle: (topic: string) => boolean = () => false;
  /** Returning true loses the device's message on the way (the session then drops). */
  lose: (topic: string, body: Record<string, unknown>) => boolean = () => false;

  #serve(topic: string, payload: Uint8Array): void {
    const body = decode(payload);
    if (this.lose(topic, body)) return this.drop();
    if (topic.startsWith(JOBS) && this.throttle(topic)) {
      this.#send(topic + "/rejected", { code: "RequestThrottled", message: "more than 10 Jobs requests in a second", clientToken: body.clientToken });
      return;
    }
    if (topic === JOBS + "start-next") {
      const next = this.#next();
      if (next && next.status === "QUEUED") next.status = "IN_PROGRESS";
      this.#send(JOBS + "start-next/accepted", next ? { execution: { ...next }, clientToken: body.clientToken } : { clientToken: body.clientToken });
    } else if (topic.startsWith(JOBS) && topic.endsWith("/update")) {
      const jobId = topic.slice(JOBS.length, -"/update".length);
      this.updates.push({ jobId, body });
      const execution = this.executions.find((e) => e.jobId === jobId);
      if (!execution || execution.status !== "IN_PROGRESS") {
        this.#send(`${JOBS}${jobId}/update/rejected`, { code: execution ? "TerminalStateReached" : "ResourceNotFound", message: "job execution is not in progress", clientToken: body.clientToken });
        return;
      }
      execution.status = body.status as string;
      if (body.statusDetails) execution.statusDetails = body.statusDetails as Record<string, string>;
      execution.versionNumber++;
      this.#send(`${JOBS}${jobId}/update/accepted`, { clientToken: body.clientToken, timestamp: 1 });
      if (execution.status !== "IN_PROGRESS") this.#notifyNext();
    } else if (topic.startsWith(STREAMS) && topic.endsWith("/get/json")) {
      const stream = topic.slice(STREAMS.length, -"/get/json".length);
      this.streamRequests.push(body);
      const file = this.streams.get(stream)?.get(body.f as number);
      if (!file) {
        this.#send(`${STREAMS}${stream}/rejected/json`, { o: "ResourceNotFound", m: `no file ${String(body.f)} in stream ${stream}`, c: body.c });
        return;
      }
      const size = body.l as number;
      for (let i = body.o as number; i < (body.o as number) + (body.n as number) && i * size < file.length; i++) {
        this.#send(`${STREAMS}${stream}/data/json`, { c: body.c, f: body.f, l: size, i, p: Buffer.from(file.subarray(i * size, (i + 1) * size)).toString("base64") });
      }
    }
  }
}
