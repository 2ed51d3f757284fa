// The fleet provisioning client when the server is busy, as when a whole batch asks at once and
// AWS answers its rate and throttles the rest: throttled and unanswered requests are asked
// again after a jittered wait that grows, never a stop (only a refusal stops the device).
// A fake session on manual time: the client's requests are recorded and answered by hand.
import assert from "node:assert/strict";
import type { FeatureContext } from "../../firmware/features/feature.js";
import { CREATE_TOPIC, startFleet, type FleetSettings } from "../../firmware/features/fleet/provisioning.js";
import type { Credentials } from "../../firmware/credentials/load.js";
import type { Failure } from "../../firmware/platform/failure.js";
import type { Platform, Storage } from "../../firmware/platform/seam.js";
import { ManualTime } from "../../host/runtime/manual-time.js";

interface Session {
  time: ManualTime;
  requests: { at: number; topic: string }[];
  stopped: Failure[];
  answer(topic: string, body: object): void;
  up(): void;
}

function session(random: number): Session {
  const time = new ManualTime();
  const values = new Map<string, string | Uint8Array>();
  const storage: Storage = { get: (k) => values.get(k), set: (k, v) => void values.set(k, v), remove: (k) => void values.delete(k) };
  const platform = { clock: time, timers: time, random: () => random, storage, log: () => undefined } as unknown as Platform;
  const handlers = new Map<string, (topic: string, payload: Uint8Array) => void>();
  const ups: (() => void)[] = [];
  const requests: Session["requests"] = [];
  const stopped: Failure[] = [];
  const context = {
    platform, log: () => undefined, thingName: "SN-1", topicPrefix: "SN-1",
    publish: (topic: string) => { requests.push({ at: time.now(), topic }); return undefined; },
    subscribe: (filter: string, _qos: number, onMessage: (topic: string, payload: Uint8Array) => void) => void handlers.set(filter, onMessage),
    onSessionUp: (listener: () => void) => void ups.push(listener),
    onSessionDown: () => undefined,
    stop: (f: Failure) => void stopped.push(f),
    restart: () => undefined,
  } as unknown as FeatureContext;
  const settings: FleetSettings = { templateName: "batch", serialNumber: "SN-1", parameters: {}, answerTimeoutMs: 10_000 };
  startFleet(context, settings, { settings: { thingName: "SN-1" }, trustedCa: [] } as unknown as Credentials);
  return {
    time, requests, stopped,
    answer: (topic, body) => handlers.get(topic)!(topic, new TextEncoder().encode(JSON.stringify(body))),
    up: () => ups.forEach((listener) => listener()),
  };
}

const throttled = { statusCode: 429, errorCode: "ThrottlingException", errorMessage: "Rate exceeded" };

describe("fleet provisioning with a busy server", () => {
  it("asks again within a jittered wait after a ThrottlingException, not after the full answer timeout", () => {
    const s = session(0.25);
    s.up();
    assert.equal(s.requests.length, 1);
    s.answer(`${CREATE_TOPIC}/rejected`, throttled);
    s.time.advance(2499);
    assert.equal(s.requests.length, 1);
    s.time.advance(1);
    assert.deepEqual(s.requests.map((r) => r.at - s.requests[0].at), [0, 2500], "random 0.25 of the 10 s answer timeout");
    assert.deepEqual(s.stopped, []);
  });

  it("keeps asking when nothing answers, each round's wait longer, and never stops the device", () => {
    const s = session(0.5);
    s.up();
    s.time.advance(30 * 60_000);
    assert.deepEqual(s.stopped, []);
    const gaps = s.requests.slice(1).map((r, i) => r.at - s.requests[i].at);
    // 3 requests 10 s apart, then a wait of random x 10 s x 2^round before the next 3.
    assert.deepEqual(gaps.slice(0, 8), [10_000, 10_000, 10_000 + 10_000, 10_000, 10_000, 10_000 + 20_000, 10_000, 10_000]);
    assert.ok(s.requests.length > 9);
  });

  it("still stops for good on a refusal, naming the server's code", () => {
    const s = session(0.5);
    s.up();
    s.answer(`${CREATE_TOPIC}/rejected`, { statusCode: 403, errorCode: "AccessDenied", errorMessage: "no" });
    assert.equal(s.stopped[0]?.code, "fleet-access-denied");
    s.time.advance(60_000);
    assert.equal(s.requests.length, 1);
  });
});
