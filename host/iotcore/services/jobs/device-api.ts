// The Jobs device MQTT API (docs/jobs.md): requests a device publishes under
// `$aws/things/<thing>/jobs/` (`get`, `start-next`, `<jobId>/get`, `<jobId>/update`) answered on
// the request topic plus `/accepted` or `/rejected`, with the request's clientToken echoed and
// AWS's error codes. As on AWS the answers go to the connection that asked only (it must have
// subscribed to them: see docs/iotcore-compatibility.md). The broker has already applied the
// device's policy (iot:Publish on the request, iot:Receive on the answer).
import type { DeviceError, ExecutionRecord } from "./execution.js";
import { statusDetailsProblem, stepTimeoutProblem, EXECUTION_STATUSES, isTerminal, stateOf, type ExecutionStatus } from "./execution.js";
import { executionSummary, type Jobs } from "./jobs.js";

export interface DeviceApiOptions {
  jobs: Jobs;
  now: () => number;
  log: (line: string) => void;
  /** answers the connection that asked; without a client id (an HTTPS publish) the answer is published */
  answer: (clientId: string | undefined, topic: string, payload: string) => Promise<unknown>;
  /** requests per thing per second before RequestThrottled (the stand-in's figure: docs/iotcore-compatibility.md) */
  requestsPerSecond?: number;
}

type Request =
  | { kind: "get-pending" }
  | { kind: "start-next" }
  | { kind: "describe"; jobId: string }
  | { kind: "update"; jobId: string };

const JOBS_TOPIC = /^\$aws\/things\/([^/]+)\/jobs\/(.*)$/;
const JOB_ID = /^[a-zA-Z0-9_-]{1,64}$/;
/** AWS: a clientToken is at most 64 bytes. */
const MAX_CLIENT_TOKEN_BYTES = 64;
export const DEFAULT_REQUESTS_PER_SECOND = 10;

/** The thing and the request a jobs topic names; `undefined` request for a topic that maps to no API. */
export function parseJobsTopic(topic: string): { thing: string; rest: string; request?: Request } | undefined {
  const match = JOBS_TOPIC.exec(topic);
  if (!match) return undefined;
  const [, thing, rest] = match;
  if (rest === "get") return { thing, rest, request: { kind: "get-pending" } };
  if (rest === "start-next") return { thing, rest, request: { kind: "start-next" } };
  const job = /^([^/]+)\/(get|update)$/.exec(rest);
  if (job && (JOB_ID.test(job[1]) || (job[1] === "$next" && job[2] === "get"))) {
    return { thing, rest, request: job[2] === "get" ? { kind: "describe", jobId: job[1] } : { kind: "update", jobId: job[1] } };
  }
  return { thing, rest };
}

/** What AWS publishes itself (answers and notifications): a device publishing there gets no answer. */
function isServiceTopic(rest: string): boolean {
  return rest === "notify" || rest === "notify-next" || /\/(accepted|rejected)$/.test(rest) || rest === "accepted" || rest === "rejected";
}

type Answer = { ok: true; body: Record<string, unknown> } | { ok: false; error: DeviceError };

export class JobsDeviceApi {
  private readonly window = new Map<string, { start: number; count: number }>();

  constructor(private readonly o: DeviceApiOptions) {}

  /** Answers a message published under `$aws/things/+/jobs/`; returns false for other topics. */
  handleMessage(message: { topic: string; payload: Uint8Array; clientId?: string }): boolean {
    const parsed = parseJobsTopic(message.topic);
    if (!parsed || isServiceTopic(parsed.rest)) return false;
    let clientToken: string | undefined;
    let answer: Answer;
    try {
      const body = parseBody(message.payload);
      clientToken = body.ok && typeof body.value.clientToken === "string" ? body.value.clientToken : undefined;
      answer = !parsed.request ? { ok: false, error: { code: "InvalidTopic", message: `${message.topic} is not a topic of the Jobs API` } }
        : !body.ok ? { ok: false, error: body.error }
        : this.throttled(parsed.thing) ? { ok: false, error: { code: "RequestThrottled", message: `more than ${this.limit()} Jobs requests in a second for ${parsed.thing}` } }
        : this.run(parsed.thing, parsed.request, body.value);
    } catch (error) {
      this.o.log(`jobs: ${message.topic}: internal failure: ${(error as Error).stack ?? String(error)}`);
      answer = { ok: false, error: { code: "InternalError", message: "An internal failure of the stand-in (logged)" } };
    }
    const timestamp = Math.floor(this.o.now() / 1000);
    const token = clientToken !== undefined && Buffer.byteLength(clientToken) <= MAX_CLIENT_TOKEN_BYTES ? { clientToken } : {};
    const reply = answer.ok ? { ...answer.body, timestamp, ...token } : { code: answer.error.code, message: answer.error.message, ...token, timestamp, ...(answer.error.executionState ? { executionState: answer.error.executionState } : {}) };
    if (!answer.ok) this.o.log(`jobs: ${message.topic} rejected: ${answer.error.code}: ${answer.error.message}`);
    void this.o.answer(message.clientId, `${message.topic}/${answer.ok ? "accepted" : "rejected"}`, JSON.stringify(reply))
      .catch((error: Error) => this.o.log(`jobs: answer to ${message.topic} not published: ${error.message}`));
    return true;
  }

  private run(thing: string, request: Request, body: Record<string, unknown>): Answer {
    const { jobs } = this.o;
    const problem = commonProblem(body);
    if (problem) return invalid(problem);
    switch (request.kind) {
      case "get-pending": {
        const pending = jobs.pending(thing);
        return { ok: true, body: {
          inProgressJobs: pending.filter((e) => e.status === "IN_PROGRESS").map(executionSummary),
          queuedJobs: pending.filter((e) => e.status === "QUEUED").map(executionSummary),
        } };
      }
      case "start-next": {
        const bad = detailsAndTimerProblem(body);
        if (bad) return invalid(bad);
        const started = jobs.startNext(thing, pick(body));
        return { ok: true, body: started ? { execution: jobs.executionData(started, true) } : {} };
      }
      case "describe": {
        if (body.executionNumber !== undefined && !isCount(body.executionNumber)) return invalid("executionNumber must be a positive integer");
        if (body.includeJobDocument !== undefined && typeof body.includeJobDocument !== "boolean") return invalid("includeJobDocument must be true or false");
        const execution = request.jobId === "$next" ? jobs.pending(thing)[0] : this.find(thing, request.jobId, body.executionNumber as number | undefined);
        if (!execution) {
          return request.jobId === "$next" ? { ok: true, body: {} } : { ok: false, error: { code: "ResourceNotFound", message: `no execution of job ${request.jobId} on ${thing}` } };
        }
        if (isTerminal(execution.status)) return { ok: false, error: { code: "TerminalStateReached", message: `the execution of job ${execution.jobId} on ${thing} is ${execution.status}` } };
        return { ok: true, body: { execution: jobs.executionData(execution, body.includeJobDocument !== false) } };
      }
      case "update": {
        if (typeof body.status !== "string" || !EXECUTION_STATUSES.includes(body.status as ExecutionStatus)) {
          return invalid(`status must be one of IN_PROGRESS, SUCCEEDED, FAILED or REJECTED${body.status === undefined ? " and is required" : `, not '${String(body.status).slice(0, 40)}'`}`);
        }
        const bad = detailsAndTimerProblem(body);
        if (bad) return invalid(bad);
        if (body.expectedVersion !== undefined && !isVersion(body.expectedVersion)) return invalid("expectedVersion must be a number");
        if (body.executionNumber !== undefined && !isCount(body.executionNumber)) return invalid("executionNumber must be a positive integer");
        for (const flag of ["includeJobExecutionState", "includeJobDocument"]) {
          if (body[flag] !== undefined && typeof body[flag] !== "boolean") return invalid(`${flag} must be true or false`);
        }
        const result = jobs.update(thing, request.jobId, {
          status: body.status as ExecutionStatus, ...pick(body),
          ...(body.expectedVersion !== undefined ? { expectedVersion: Number(body.expectedVersion) } : {}),
          ...(body.executionNumber !== undefined ? { executionNumber: body.executionNumber as number } : {}),
        });
        if (!result.ok) return result;
        const out: Record<string, unknown> = {};
        if (body.includeJobExecutionState === true) out.executionState = stateOf(result.value);
        if (body.includeJobDocument === true) out.jobDocument = jobs.documentObject(request.jobId);
        return { ok: true, body: out };
      }
    }
  }

  private find(thing: string, jobId: string, executionNumber: number | undefined): ExecutionRecord | undefined {
    try {
      return this.o.jobs.execution(jobId, thing, executionNumber);
    } catch {
      return undefined;
    }
  }

  private limit(): number {
    return this.o.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
  }

  private throttled(thing: string): boolean {
    const now = this.o.now();
    const current = this.window.get(thing);
    if (!current || now - current.start >= 1000) {
      this.window.set(thing, { start: now, count: 1 });
      return false;
    }
    current.count++;
    return current.count > this.limit();
  }
}

function invalid(message: string): Answer {
  return { ok: false, error: { code: "InvalidRequest", message } };
}

/** The request body: empty is `{}`; anything but a JSON object is InvalidJson. */
function parseBody(payload: Uint8Array): { ok: true; value: Record<string, unknown> } | { ok: false; error: DeviceError } {
  if (payload.length === 0) return { ok: true, value: {} };
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
  } catch {
    // falls through to InvalidJson
  }
  return { ok: false, error: { code: "InvalidJson", message: "the request is not a UTF-8 JSON object" } };
}

function commonProblem(body: Record<string, unknown>): string | undefined {
  if (body.clientToken !== undefined && typeof body.clientToken !== "string") return "clientToken must be a string";
  if (typeof body.clientToken === "string" && Buffer.byteLength(body.clientToken) > MAX_CLIENT_TOKEN_BYTES) return `clientToken is longer than ${MAX_CLIENT_TOKEN_BYTES} bytes`;
  return undefined;
}

function detailsAndTimerProblem(body: Record<string, unknown>): string | undefined {
  return (body.statusDetails !== undefined ? statusDetailsProblem(body.statusDetails) : undefined) ?? stepTimeoutProblem(body.stepTimeoutInMinutes);
}

function pick(body: Record<string, unknown>): { statusDetails?: Record<string, string>; stepTimeoutInMinutes?: number } {
  return {
    ...(body.statusDetails !== undefined ? { statusDetails: body.statusDetails as Record<string, string> } : {}),
    ...(body.stepTimeoutInMinutes !== undefined ? { stepTimeoutInMinutes: body.stepTimeoutInMinutes as number } : {}),
  };
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

/** AWS's syntax shows expectedVersion as a "number" in quotes: a number or a numeric string is taken. */
function isVersion(value: unknown): boolean {
  return (typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && /^\d+$/.test(value));
}
