// Inside XS: the jobs and OTA features (the firmware's own modules, started by the feature
// runtime) download an image over a fake session whose peer answers at once, so each host call
// (one crank) moves the download on by a fixed number of blocks and ends with a gc: the live
// heap slots the host reads after each call show whether the download holds more as it goes.
// The image's blocks come from the host (`report("block")`, as the network would bring them),
// and the update slot is the host's (the bridge), so the guest never holds the image.

import type { MqttClient } from "../../firmware/mqtt/client.js";
import { defaultConfig } from "../../firmware/config/config.js";
import { startFeatures } from "../../firmware/features/runtime.js";
import jobs from "../../firmware/features/jobs.js";
import ota from "../../firmware/features/ota.js";
import { createXsPlatform, exposeCalls, report } from "../runtime/xs/guest/bridge.js";
import { collect } from "./xs-meter.js";

const THING = "bench";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const platform = createXsPlatform();
const inbox: [string, Uint8Array][] = [];
let requested: number[] = [];
let document: Record<string, unknown> = {};
let features: ReturnType<typeof startFeatures> | undefined;

/** The fake peer: answers start-next with the OTA job, accepts every report, queues the blocks a GetStream asks for. */
function serve(topic: string, payload: Uint8Array): void {
  const body = JSON.parse(decoder.decode(payload)) as Record<string, unknown>;
  const answer = (to: string, value: unknown) => inbox.push([to, encoder.encode(JSON.stringify(value))]);
  if (topic.endsWith("/start-next")) answer(topic + "/accepted", { clientToken: body.clientToken, execution: { jobId: "bench-ota", status: "IN_PROGRESS", jobDocument: document } });
  else if (topic.endsWith("/update")) answer(topic + "/accepted", { clientToken: body.clientToken });
  else if (topic.endsWith("/get/json")) for (let i = 0; i < (body.n as number); i++) requested.push((body.o as number) + i);
}

/** Delivers queued answers, then `blocks` more blocks (each fetched from the host as the network would bring it). */
function run(blocks: number): void {
  for (;;) {
    const next = inbox.shift();
    if (next) {
      features!.message(next[0], next[1]);
      continue;
    }
    if (!blocks-- || !requested.length) return;
    const i = requested.shift()!;
    const block = encoder.encode(report("block", { i }).header.block as string);
    features!.message(`$aws/things/${THING}/streams/bench-fw/data/json`, block);
  }
}

exposeCalls({
  /** args: the job document; starts the features and the job, up to the first GetStream. */
  start(args) {
    document = args.document as Record<string, unknown>;
    requested = [];
    const client = {
      publish: (topic: string, payload: Uint8Array) => void serve(topic, payload),
      subscribe: (_filters: unknown, done: (granted: number[]) => void) => void done([1]),
    } as unknown as MqttClient;
    const config = { ...defaultConfig, thingName: THING, topicPrefix: THING };
    const telemetry = { reconfigure: () => {}, stats: { produced: 0, acked: 0, dropped: 0, queued: 0, inFlight: 0 } };
    features = startFeatures({
      platform: { ...platform, restart: () => void report("restarted") }, config, mode: { name: "mtls" }, features: [jobs, ota],
      featureSettings: [{}, { blockSize: args.blockSize, blocksPerRequest: args.blocksPerRequest, answerTimeoutMs: 600_000, confirmWithinMs: 86_400_000 }],
      status: () => ({ state: "online", message: "", attempts: 1 }), persist: () => {}, restart: () => {}, stop: () => {},
      credentials: { codeSigners: [["code-signing.pem", new Uint8Array(args.certificate as number[])]] },
    } as never, client, telemetry as never, () => null);
    features.sessionUp();
    run(0);
    collect();
  },
  /** Moves the download on by `args.blocks` blocks. */
  blocks(args) {
    run(args.blocks as number);
    collect();
    return { result: { pending: requested.length + inbox.length } };
  },
});
