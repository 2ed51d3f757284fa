// One OTA job (AWS's `afr_ota` job document, docs/ota.md): the image is fetched in blocks from
// its stream over the device's MQTT session (MQTT-based file delivery, GetStream on
// `$aws/things/<thing>/streams/<stream>/get/json`, blocks on `data/json`), each block written to
// the update slot as it arrives; then its SHA-256 and code-signing signature are checked, and it
// is activated and booted. The slot writes in order (Moddable's OTA module writes sequentially),
// so what has arrived is a run of blocks from the first: the download resumes at the first
// missing block after a dropped connection, not at zero. Any mismatch ends the job FAILED with
// the reason, the running image untouched.

import { base64Decode } from "../../websocket/base64.js";
import { toHex } from "../../credentials/hex.js";
import type { FeatureContext } from "../feature.js";
import type { Job } from "../jobs/operations.js";

export interface OtaSettings {
  blockSize: number;
  blocksPerRequest: number;
  answerTimeoutMs: number;
}

/** Preference key (at most 15 characters): the version an activated image replaced, until the new one connects. */
export const PENDING_KEY = "ota.pending";

/** What a job document's `afr_ota` must hold for this device; a sentence naming the problem otherwise. */
export function readOtaDocument(document: Record<string, unknown>): { stream: string; fileId: number; size: number; certfile: string; signature: string } | string {
  const ota = document.afr_ota as Record<string, unknown>;
  const files = ota.files as Record<string, unknown>[] | undefined;
  const file = Array.isArray(files) && files.length === 1 ? files[0] : undefined;
  if (!Array.isArray(ota.protocols) || !ota.protocols.includes("MQTT")) return "afr_ota.protocols does not offer MQTT, the only delivery this device has";
  if (typeof ota.streamname !== "string" || !ota.streamname) return "afr_ota.streamname is missing";
  if (typeof file !== "object" || file === null) return "afr_ota.files must list exactly one file";
  const { filesize: size, fileid: fileId, certfile } = file;
  const signature = file["sig-sha256-ecdsa"];
  if (!Number.isInteger(size) || (size as number) < 1) return "afr_ota.files[0].filesize is not a positive integer";
  if (!Number.isInteger(fileId) || (fileId as number) < 0) return "afr_ota.files[0].fileid is not a file id";
  if (typeof certfile !== "string") return "afr_ota.files[0].certfile is missing";
  if (typeof signature !== "string") {
    return file["sig-sha256-rsa"] !== undefined ? "the image is signed with RSA (sig-sha256-rsa); this device verifies ECDSA P-256 signatures (sig-sha256-ecdsa) only" : "afr_ota.files[0] has no sig-sha256-ecdsa signature";
  }
  return { stream: ota.streamname, fileId: fileId as number, size: size as number, certfile, signature };
}

/** A download under way: the OTA feature hands it its stream's messages and the session's changes. */
export interface Download {
  /** The stream's topics begin with this. */
  readonly topic: string;
  block(data: Record<string, unknown>): void;
  refused(answer: Record<string, unknown>): void;
  sessionUp(): void;
  sessionDown(): void;
  stop(): void;
}

/** Runs the `afr_ota` job `job`: the download under way, or undefined when the job has already ended. */
export function runOta(context: FeatureContext, settings: OtaSettings, job: Job): Download | undefined {
  const { platform, log } = context;
  const slot = platform.update;
  const firmware = context.facts().firmware;
  if (job.details.step === "activated") {
    // Back after the restart that booted the image, connected again: confirmed on this session.
    if (firmware === job.details.from) job.end("FAILED", `the activated image did not stay: the device runs ${firmware} again (rolled back or not booted); the previous image is kept`);
    else job.end("SUCCEEDED", `image booted and connected: firmware ${firmware}`, { firmware });
    return;
  }
  const file = readOtaDocument(job.document);
  if (typeof file === "string") return void job.end("FAILED", file);
  const { stream, fileId, size, certfile } = file;
  const signer = context.codeSigners.find((s) => s[0] === certfile);
  if (!signer) {
    return void job.end("FAILED", `certfile "${certfile}" is not a code-signing certificate this device carries (${context.codeSigners.map((s) => s[0]).join(", ") || "none"}): the image is not from a signer it trusts`);
  }
  if (!slot || !platform.restart) return void job.end("FAILED", "this platform has no update slot");
  const opened = slot.open(size);
  if (opened) return void job.end("FAILED", opened.message);

  const { blockSize, blocksPerRequest, answerTimeoutMs } = settings;
  const blocks = Math.ceil(size / blockSize);
  const topic = `$aws/things/${context.thingName}/streams/${stream}/`;
  let next = 0;
  let windowEnd = 0;
  let reported = 0;
  let timer: unknown;
  let done = false;
  const clearTimer = () => platform.timers.clearTimeout(timer);
  const fail = (reason: string) => {
    finish();
    slot.abort();
    job.end("FAILED", reason);
  };
  const finish = () => {
    done = true;
    clearTimer();
  };
  const request = () => {
    clearTimer();
    if (done) return;
    windowEnd = Math.min(blocks, next + blocksPerRequest);
    const body = { c: job.id, f: fileId, l: blockSize, o: next, n: windowEnd - next };
    log(`stream ${stream}: asking for blocks ${next}..${windowEnd - 1} of ${blocks}`, 0);
    context.publish(topic + "get/json", new TextEncoder().encode(JSON.stringify(body)), 0);
    // No answer in time (a block lost on the way): ask again from the first missing block.
    timer = platform.timers.setTimeout(request, answerTimeoutMs);
  };
  const block = (data: Record<string, unknown>) => {
    if (done || data.f !== fileId || data.i !== next) return; // another file, a repeat, or ahead of a lost block
    const bytes = typeof data.p === "string" ? base64Decode(data.p) : undefined;
    const expected = next === blocks - 1 ? size - next * blockSize : blockSize;
    if (!bytes || bytes.length !== expected) {
      return fail(`block ${next} of stream ${stream} holds ${bytes ? bytes.length : "no"} bytes, not ${expected}: the stream's file is not the ${size}-byte image the job names`);
    }
    const refused = slot.write(bytes);
    if (refused) return fail(refused.message);
    next++;
    if (next === blocks) return check();
    if (next * 4 >= (reported + 1) * blocks) {
      reported++; // a report at each quarter
      job.progress({ step: "downloading", received: `${next}/${blocks}` });
    }
    if (next === windowEnd) request();
  };
  const check = () => {
    finish();
    const digest = slot.digest();
    const hash = toHex(digest);
    const signature = base64Decode(file.signature);
    if (!signature || !slot.verify(signer[1], digest, signature)) {
      slot.abort();
      return job.end("FAILED", `signature check failed: the image (sha256 ${hash}) is not signed by the key of "${certfile}"`);
    }
    const refused = slot.activate();
    if (refused) return job.end("FAILED", refused.message);
    platform.storage.set(PENDING_KEY, firmware);
    log(`image ${hash} (${size} bytes) verified and activated; restarting into it`);
    job.progress({ step: "activated", from: firmware, sha256: hash }, platform.restart);
  };

  log(`job ${job.id}: ${size} bytes from stream ${stream} file ${fileId} in ${blocks} blocks of ${blockSize}, signer "${certfile}"`);
  request();
  return {
    topic,
    block,
    refused(answer) {
      if (!done && answer.c === job.id) fail(`stream ${stream} refused the request: ${String(answer.o)}: ${String(answer.m)}`);
    },
    sessionUp: request,
    sessionDown() {
      clearTimer();
      if (!done) log(`stream ${stream}: connection lost with blocks 0..${next - 1} of ${blocks} written; resuming at block ${next}`);
    },
    stop() {
      if (done) return;
      finish();
      slot.abort();
    },
  };
}
