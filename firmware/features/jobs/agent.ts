// The jobs agent over AWS IoT Jobs' device MQTT API (docs/jobs.md; docs/ota.md, "Jobs, as the device agent uses them"): on every session it
// asks StartNextPendingJobExecution, which hands back the job in progress (after a reconnect or
// a restart) or starts the next queued one; notify-next says when one is queued. One job runs
// at a time; its operation reports progress and a final status with a reason in statusDetails;
// an operation the device does not carry is REJECTED with the reason. A report the service has
// not accepted yet is sent again on the next session.

import { isObject } from "../../config/config.js";
import { checkLiveField, LIVE_FIELDS } from "../../config/live.js";
import type { FeatureContext } from "../feature.js";
import { jsonObject } from "../runtime.js";
import { operations, type Details, type Job, type Operation } from "./operations.js";

const encoder = new TextEncoder();
// Refusals that say "later" (docs/jobs.md: more than 10 requests a second on a thing is
// RequestThrottled): the request goes again after a second or two.
const RETRYABLE = ["RequestThrottled", "InternalError", "ServiceUnavailable"];

interface Running {
  id: string;
  /** The last update not yet accepted, and what runs when it is. */
  report?: { body: Record<string, unknown>; then?: () => void };
  final?: boolean;
  stop?: () => void;
}

/** Starts the agent on `context`'s sessions; `stop` ends the running operation. */
export function startJobsAgent(context: FeatureContext): { stop(): void } {
  const { log } = context;
  const base = `$aws/things/${context.thingName}/jobs/`;
  let current: Running | undefined;
  let tokens = 0;
  const send = (topic: string, body: Record<string, unknown>) => {
    const failure = context.publish(base + topic, encoder.encode(JSON.stringify(body)), 1);
    if (failure) log(`${topic} not sent (${failure.code}); again on the next session`, 0);
  };
  const startNext = () => send("start-next", { clientToken: "next-" + ++tokens });
  const later = (again: () => void) => void context.platform.timers.setTimeout(again, 1000 + context.platform.random() * 1000);

  const builtIn: Record<string, Operation> = {
    config: (job) => applySettings(context, job),
    reboot: (job) => {
      const restart = context.platform.restart;
      if (job.details.step === "rebooting") job.end("SUCCEEDED", "restarted and connected again");
      else if (!restart) job.end("FAILED", "this platform cannot restart the device");
      else job.progress({ step: "rebooting" }, () => { log("restarting the device"); restart(); });
    },
  };

  function begin(execution: Record<string, unknown>): void {
    const id = execution.jobId;
    if (typeof id !== "string" || current?.id === id) return; // the job in progress, handed back after a reconnect
    if (current) return log(`job ${id} waits: ${current.id} is still running`, 0);
    const document = isObject(execution.jobDocument) ? execution.jobDocument : {};
    const details = isObject(execution.statusDetails) ? execution.statusDetails as Details : {};
    const name = typeof document.operation === "string" ? document.operation : isObject(document.afr_ota) ? "afr_ota" : "";
    const running: Running = current = { id };
    const report = (body: Record<string, unknown>, then?: () => void) => {
      if (current !== running || running.final) return;
      running.final = body.status !== "IN_PROGRESS";
      running.report = { body: { ...body, clientToken: id + "-" + ++tokens }, then };
      send(id + "/update", running.report.body);
    };
    const job: Job = {
      id, document, details,
      progress: (next, then) => report({ status: "IN_PROGRESS", statusDetails: next }, then),
      end(status, reason, more) {
        log(`job ${id}: ${status}: ${reason}`, status === "SUCCEEDED" ? 1 : 2);
        report({ status, statusDetails: { ...more, reason: reason.slice(0, 1000) } });
      },
    };
    const operation = Object.hasOwn(builtIn, name) ? builtIn[name] : Object.hasOwn(operations, name) ? operations[name] : undefined;
    log(`job ${id}: ${name ? `operation ${name}` : "no operation"}${details.step ? `, resumed at ${details.step}` : ""}`);
    if (!operation) {
      return job.end("REJECTED", `${name ? `operation "${name}"` : "a job document without \"operation\""} is not one this device carries (${[...Object.keys(builtIn), ...Object.keys(operations)].join(", ")})`);
    }
    try {
      running.stop = operation(job)?.stop;
    } catch (e) {
      job.end("FAILED", `the ${name} operation threw ${e}`);
    }
  }

  function answered(topic: string, payload: Uint8Array, accepted: boolean): void {
    const id = topic.slice(base.length, topic.indexOf("/update/", base.length));
    const running = current;
    const body = jsonObject(payload) ?? {};
    if (!running || running.id !== id || body.clientToken !== running.report?.body.clientToken) return;
    const { then, body: sent } = running.report!;
    if (!accepted && RETRYABLE.includes(body.code as string)) {
      return later(() => { if (running.report?.body === sent) send(id + "/update", sent); });
    }
    running.report = undefined;
    if (!accepted) {
      // Canceled or removed meanwhile (TerminalStateReached, ResourceNotFound...): drop it.
      log(`job ${id}: update refused: ${String(body.code)}: ${String(body.message)}`, 2);
      running.final = true;
    }
    if (running.final) {
      if (!accepted) running.stop?.();
      current = undefined;
      startNext();
    } else then?.();
  }

  context.subscribe(base + "notify-next", 1, (_, payload) => {
    if (!current && isObject(jsonObject(payload)?.execution)) startNext();
  });
  context.subscribe(base + "start-next/accepted", 1, (_, payload) => {
    const execution = jsonObject(payload)?.execution;
    if (isObject(execution)) begin(execution);
  });
  context.subscribe(base + "start-next/rejected", 1, (_, payload) => {
    const { code, message } = jsonObject(payload) ?? {};
    log(`start-next refused: ${String(code)}: ${String(message)}`, 2);
    if (RETRYABLE.includes(code as string)) later(startNext);
  });
  context.subscribe(base + "+/update/accepted", 1, (topic, payload) => answered(topic, payload, true));
  context.subscribe(base + "+/update/rejected", 1, (topic, payload) => answered(topic, payload, false));
  context.onSessionUp(() => {
    if (current?.report) send(current.id + "/update", current.report.body);
    startNext();
  });
  return { stop: () => current?.stop?.() };
}

/** `{"operation":"config","settings":{...}}`: every field checked by the config's rules first, then all applied (as the shadow applies them). */
function applySettings(context: FeatureContext, job: Job): void {
  const settings = job.document.settings;
  if (!isObject(settings) || !Object.keys(settings).length) {
    return job.end("REJECTED", `a config job needs "settings", an object of live fields (${LIVE_FIELDS.join(", ")})`);
  }
  for (const name in settings) {
    const refused = checkLiveField(name, settings[name]);
    if (refused) return job.end("FAILED", refused.message);
  }
  for (const name in settings) context.setConfig(name, settings[name]);
  job.end("SUCCEEDED", "applied " + Object.keys(settings).map((name) => `${name}=${JSON.stringify(settings[name])}`).join(", "));
}
