// What a fleet run measured, computed from what it recorded: the stand-in's CONNECT decisions
// (what AWS would see), each device's status changes and acknowledged messages, and what the
// subscriber received. Pure: the records come in, the report comes out (docs/fleet.md says
// what each figure means).

import type { AccountLimits } from "../iotcore/index.js";
import type { PolicyParams } from "../../firmware/provisioning/policy.js";
import { checkBackoff, type AttemptRecord, type BackoffCheck } from "./backoff-check.js";
import type { ConnectRecord } from "./standin.js";

export interface DeviceRecord {
  thingName: string;
  /** the client ids it connects with: the thing name, and with fleet provisioning first its serial number (the claim's session) */
  clientIds: string[];
  /** when its first telemetry message was acknowledged (epoch ms) */
  firstAckAt?: number;
  engine: "node" | "xs";
  /** status changes: [epoch ms, state] */
  statuses: [number, string][];
  /** the last status's code and sentence, when it has a code */
  lastCode?: string;
  lastMessage?: string;
  acked: number[];
  produced: number;
  queued: number;
  /** its CONNECT attempts as its connection loop logged them (devices under Node only) */
  attempts?: AttemptRecord[];
}

export interface RunFacts {
  devices: number;
  provisioning: string;
  mode: string;
  engine: string;
  durationS: number;
  seed: number;
  telemetryIntervalMs: number;
  /** the devices' provisioningAttempts (the batch's, or the command line's) */
  provisioningAttempts: number;
  startedAt: number;
  endedAt: number;
  /** when the stand-in was told to restart, and when it listened again */
  restart?: { at: number; listeningAt: number };
  limits: AccountLimits;
  standIn: { cpuMs: number; peakRssBytes: number; peakHeapUsedBytes: number };
  /** the process that ran the devices and the subscriber */
  runner: { cpuMs: number; peakRssBytes: number };
  /** devices online, sampled: [seconds since start, count] */
  onlineSamples: [number, number][];
  /** the devices' connection policy (their config with the firmware's defaults) */
  policy: PolicyParams;
}

export interface Percentiles { p50: number; p95: number; p99: number; max: number }

export interface FleetReport {
  ok: boolean;
  /** each correctness check and whether it held */
  checks: Record<string, boolean>;
  run: Omit<RunFacts, "onlineSamples" | "standIn" | "runner" | "limits" | "restart" | "policy"> & { restartAtS?: number; standInDownMs?: number };
  limits: AccountLimits;
  online: { allOnline: boolean; onlineAtEnd: number; everOnline: number; timeToOnlineMs?: Percentiles; timeToFirstTelemetryMs?: Percentiles; backAfterRestart?: number; timeBackMs?: Percentiles; notOnline: { thing: string; state: string; code?: string }[] };
  connects: {
    total: number;
    throttledByAccount: number;
    throttledByClientId: number;
    /** the highest CONNECT requests in one second: overall, after the first wave, in the reconnect wave after a restart */
    peakPerSecond: number;
    peakAfterFirstWave: number;
    peakReconnectWave?: number;
    firstWaveEndS?: number;
    /** CONNECTs per device, over all its client ids */
    perDevice: Percentiles & { histogram: { attempts: number; devices: number }[] };
    /** the shortest interval between two CONNECTs of one client id, and every pair under 1 s */
    shortestIntervalMs?: number;
    under1s: { clientId: string; intervalMs: number; atS: number }[];
    perSecond: number[];
    /** every retry of a device against the wait its backoff allows at the least (backoff-check.ts) */
    backoff: BackoffCheck & { violationCount: number; /** devices the stand-in saw connect that have no attempt in their own record (there must be none) */ unrecorded: string[] };
  };
  telemetry: { published: number; acknowledged: number; received: number; lost: number; duplicated: number; unacknowledgedAtEnd: number; lostSamples: { thing: string; seq: number }[] };
  standIn: RunFacts["standIn"];
  runner: RunFacts["runner"];
  onlineOverTime: [number, number][];
}

/** The p-th percentile (nearest rank) of `values`; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function percentiles(values: readonly number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), max: Math.max(...values) };
}

const ONE_SECOND = 1000;

/** Builds the report; `received(thing, seq)` says whether the subscriber got that message. */
export function buildReport(facts: RunFacts, devices: DeviceRecord[], connects: ConnectRecord[], subscriber: { received: number; duplicates: number; has(thing: string, seq: number): boolean }, ignoreClientIds: readonly string[]): FleetReport {
  const sinceStart = (t: number) => t - facts.startedAt;
  const own = connects.filter(([, clientId]) => !ignoreClientIds.includes(clientId)).sort((a, b) => a[0] - b[0]);

  // Online: first "online" per device, and after a restart the first "online" after it.
  const firstOnline = devices.map((d) => d.statuses.find(([, s]) => s === "online")?.[0]);
  const timeToOnline = firstOnline.filter((t): t is number => t !== undefined).map(sinceStart);
  const restartAt = facts.restart?.at;
  const backAt = restartAt === undefined ? [] : devices.map((d) => d.statuses.find(([t, s]) => s === "online" && t > restartAt)?.[0]);
  const lastState = (d: DeviceRecord) => d.statuses.at(-1)?.[1] ?? "booting";
  const onlineAtEnd = devices.filter((d) => lastState(d) === "online").length;

  // CONNECT requests per second since the start.
  const seconds = Math.max(1, Math.ceil(sinceStart(facts.endedAt) / ONE_SECOND));
  const perSecond = new Array<number>(seconds).fill(0);
  for (const [t] of own) {
    const s = Math.floor(sinceStart(t) / ONE_SECOND);
    if (s >= 0 && s < seconds) perSecond[s] += 1;
  }
  // The first wave ends when every device has been online once (or at the end, if some never were).
  const allFirstOnline = firstOnline.every((t) => t !== undefined) ? Math.max(...(firstOnline as number[])) : undefined;
  const firstWaveEndS = allFirstOnline === undefined ? undefined : Math.ceil(sinceStart(allFirstOnline) / ONE_SECOND);
  const restartS = restartAt === undefined ? undefined : Math.floor(sinceStart(restartAt) / ONE_SECOND);
  const peak = (from: number, to = seconds) => Math.max(0, ...perSecond.slice(from, to));

  // Per client id: attempts, and the shortest gap between two of its CONNECTs.
  const byClient = new Map<string, number[]>();
  for (const [t, clientId] of own) {
    const times = byClient.get(clientId) ?? [];
    times.push(t);
    byClient.set(clientId, times);
  }
  const under1s: FleetReport["connects"]["under1s"] = [];
  let shortest: number | undefined;
  for (const [clientId, times] of byClient) {
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      shortest = shortest === undefined ? gap : Math.min(shortest, gap);
      if (gap < ONE_SECOND) under1s.push({ clientId, intervalMs: gap, atS: Math.round(sinceStart(times[i]) / 100) / 10 });
    }
  }
  const attemptsPerDevice = devices.map((d) => d.clientIds.reduce((sum, id) => sum + (byClient.get(id)?.length ?? 0), 0));
  const histogram = new Map<number, number>();
  for (const n of attemptsPerDevice) histogram.set(n, (histogram.get(n) ?? 0) + 1);

  // Telemetry: acknowledged by the stand-in (PUBACK) against received by the subscriber.
  const lostSamples: { thing: string; seq: number }[] = [];
  let acknowledged = 0;
  for (const d of devices) {
    for (const seq of d.acked) {
      acknowledged += 1;
      if (!subscriber.has(d.thingName, seq)) lostSamples.push({ thing: d.thingName, seq });
    }
  }
  const published = devices.reduce((sum, d) => sum + d.produced, 0);
  const unacknowledgedAtEnd = devices.reduce((sum, d) => sum + d.queued, 0);
  const throttledByAccount = own.filter(([, , allowed, why]) => !allowed && /for the account/.test(why)).length;
  const throttledByClientId = own.filter(([, , allowed, why]) => !allowed && /for this client id/.test(why)).length;

  const backoff = checkBackoff(devices.flatMap((d) => (d.attempts ? [{ thing: d.thingName, attempts: d.attempts }] : [])), facts.policy);
  // A device the stand-in saw connect with no attempt in its own record: the check would be blind to it (its log lines not read).
  const unrecorded = devices.filter((d, i) => d.attempts?.length === 0 && attemptsPerDevice[i] > 0).map((d) => d.thingName);

  const allOnline = firstOnline.every((t) => t !== undefined) && onlineAtEnd === devices.length;
  const checks: Record<string, boolean> = {
    "every device online at the end": allOnline,
    "no acknowledged message lost": lostSamples.length === 0,
    "no two CONNECTs of one device within 1 s": under1s.length === 0,
    "no device retried sooner than its backoff allows": backoff.violations.length === 0 && unrecorded.length === 0,
    ...(restartAt !== undefined ? { "every device back online after the restart": backAt.every((t) => t !== undefined) } : {}),
  };
  return {
    ok: Object.values(checks).every(Boolean),
    checks,
    run: {
      devices: facts.devices, provisioning: facts.provisioning, mode: facts.mode, engine: facts.engine, durationS: facts.durationS, seed: facts.seed,
      telemetryIntervalMs: facts.telemetryIntervalMs, provisioningAttempts: facts.provisioningAttempts, startedAt: facts.startedAt, endedAt: facts.endedAt,
      ...(facts.restart ? { restartAtS: Math.round(sinceStart(facts.restart.at) / 100) / 10, standInDownMs: facts.restart.listeningAt - facts.restart.at } : {}),
    },
    limits: facts.limits,
    online: {
      allOnline, onlineAtEnd, everOnline: timeToOnline.length, timeToOnlineMs: percentiles(timeToOnline),
      timeToFirstTelemetryMs: percentiles(devices.flatMap((d) => (d.firstAckAt === undefined ? [] : [sinceStart(d.firstAckAt)]))),
      ...(restartAt !== undefined ? { backAfterRestart: backAt.filter((t) => t !== undefined).length, timeBackMs: percentiles(backAt.filter((t): t is number => t !== undefined).map((t) => t - restartAt)) } : {}),
      notOnline: devices.filter((d) => lastState(d) !== "online").slice(0, 20).map((d) => ({ thing: d.thingName, state: lastState(d), ...(d.lastCode ? { code: d.lastCode } : {}) })),
    },
    connects: {
      total: own.length, throttledByAccount, throttledByClientId,
      peakPerSecond: peak(0),
      // after the first wave: from the second after every device was first online (the restart's wave included)
      peakAfterFirstWave: firstWaveEndS === undefined ? peak(0) : peak(firstWaveEndS + 1),
      ...(restartS !== undefined ? { peakReconnectWave: peak(restartS) } : {}),
      ...(firstWaveEndS !== undefined ? { firstWaveEndS } : {}),
      perDevice: {
        ...(percentiles(attemptsPerDevice) ?? { p50: 0, p95: 0, p99: 0, max: 0 }),
        histogram: [...histogram.entries()].sort((a, b) => a[0] - b[0]).map(([attempts, count]) => ({ attempts, devices: count })),
      },
      ...(shortest !== undefined ? { shortestIntervalMs: shortest } : {}),
      under1s: under1s.slice(0, 50),
      perSecond,
      backoff: { ...backoff, violationCount: backoff.violations.length, violations: backoff.violations.slice(0, 50), unrecorded: unrecorded.slice(0, 50) },
    },
    telemetry: {
      published, acknowledged, received: subscriber.received, lost: lostSamples.length, duplicated: subscriber.duplicates,
      unacknowledgedAtEnd, lostSamples: lostSamples.slice(0, 50),
    },
    standIn: facts.standIn,
    runner: facts.runner,
    onlineOverTime: facts.onlineSamples,
  };
}
