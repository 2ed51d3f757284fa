// A job execution's rules as AWS IoT Jobs documents them (docs/jobs.md): the statuses, which
// changes a device may make (UpdateJobExecution, StartNextPendingJobExecution), which the
// service makes (cancel, timeouts, removal from a target group), the version that every change
// increments, the step and in-progress timers, and the order of a thing's pending executions.
// Pure: time comes in as epoch ms, nothing is stored here (store.ts keeps the records).

export const EXECUTION_STATUSES = ["QUEUED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED", "REMOVED"] as const;
export type ExecutionStatus = typeof EXECUTION_STATUSES[number];

/** The statuses a device may set (UpdateJobExecution's `status`). */
export const DEVICE_STATUSES: readonly ExecutionStatus[] = ["IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"];
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ["SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED", "REMOVED"];

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function isPending(status: ExecutionStatus): boolean {
  return status === "QUEUED" || status === "IN_PROGRESS";
}

export interface ExecutionRecord {
  jobId: string;
  thingName: string;
  /** identifies this execution of the job on this thing; also the creation order of executions */
  executionNumber: number;
  status: ExecutionStatus;
  statusDetails?: Record<string, string>;
  /** every change adds one; starts at 1 */
  versionNumber: number;
  forceCanceled?: boolean;
  /** epoch ms */
  queuedAt: number;
  startedAt?: number;
  lastUpdatedAt: number;
  /** epoch ms when the step timer (stepTimeoutInMinutes) ends the execution as TIMED_OUT */
  stepDeadline?: number;
  /** epoch ms when the job's in-progress timer (timeoutConfig) ends it as TIMED_OUT */
  inProgressDeadline?: number;
}

/** A device request's failure: AWS's error code for the Jobs MQTT API and a sentence. */
export interface DeviceError {
  code: "InvalidTopic" | "InvalidJson" | "InvalidRequest" | "InvalidStateTransition" | "ResourceNotFound"
    | "VersionMismatch" | "InternalError" | "RequestThrottled" | "TerminalStateReached";
  message: string;
  /** sent with InvalidStateTransition and VersionMismatch, as AWS does */
  executionState?: ExecutionState;
}

export interface ExecutionState {
  status: ExecutionStatus;
  statusDetails?: Record<string, string>;
  versionNumber: number;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: DeviceError };

export function stateOf(execution: ExecutionRecord): ExecutionState {
  return { status: execution.status, ...(execution.statusDetails ? { statusDetails: execution.statusDetails } : {}), versionNumber: execution.versionNumber };
}

/** AWS: step timeouts are 1 to 10080 minutes (7 days); -1 cancels the current step timer. */
export const STEP_TIMEOUT_MINUTES = { min: 1, max: 10080 } as const;
/** AWS: statusDetails keys are 1-128 characters of [a-zA-Z0-9:_-], values 1-1024 characters without control characters. */
const DETAIL_KEY = /^[a-zA-Z0-9:_-]{1,128}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Checks a statusDetails map; returns the InvalidRequest sentence, or undefined when it is valid. */
export function statusDetailsProblem(details: unknown): string | undefined {
  if (typeof details !== "object" || details === null || Array.isArray(details)) return "statusDetails must be an object of string values";
  for (const [key, value] of Object.entries(details)) {
    if (!DETAIL_KEY.test(key)) return `statusDetails key '${key.slice(0, 40)}' must be 1-128 characters of a-z, A-Z, 0-9, ':', '_' or '-'`;
    if (typeof value !== "string") return `statusDetails value of '${key}' must be a string`;
    if (value.length < 1 || value.length > 1024) return `statusDetails value of '${key}' must be 1-1024 characters long`;
    if (CONTROL.test(value)) return `statusDetails value of '${key}' contains a control character`;
  }
  return undefined;
}

/** Checks stepTimeoutInMinutes; returns the InvalidRequest sentence, or undefined. */
export function stepTimeoutProblem(minutes: unknown): string | undefined {
  if (minutes === undefined || minutes === -1) return undefined;
  if (typeof minutes !== "number" || !Number.isInteger(minutes) || minutes < STEP_TIMEOUT_MINUTES.min || minutes > STEP_TIMEOUT_MINUTES.max) {
    return `stepTimeoutInMinutes must be an integer from ${STEP_TIMEOUT_MINUTES.min} to ${STEP_TIMEOUT_MINUTES.max}, or -1 to cancel the step timer`;
  }
  return undefined;
}

/** Timer settings: `minuteMs` is 60,000 on AWS's clock (tests shorten it). */
export interface Timing { nowMs: number; minuteMs: number; inProgressTimeoutInMinutes?: number }

/** The step deadline after a request that may carry stepTimeoutInMinutes (absent: unchanged; -1: none). */
function nextStepDeadline(current: number | undefined, minutes: number | undefined, timing: Timing): number | undefined {
  if (minutes === undefined) return current;
  if (minutes === -1) return undefined;
  return timing.nowMs + minutes * timing.minuteMs;
}

export interface DeviceUpdate {
  status: ExecutionStatus;
  statusDetails?: Record<string, string>;
  expectedVersion?: number;
  stepTimeoutInMinutes?: number;
}

/**
 * A device's UpdateJobExecution applied to an execution: a terminal execution, or a change AWS's
 * status machine does not allow, is InvalidStateTransition; a wrong expectedVersion is
 * VersionMismatch (both with the current state). Returns the updated record.
 */
export function applyDeviceUpdate(execution: ExecutionRecord, update: DeviceUpdate, timing: Timing): Outcome<ExecutionRecord> {
  if (update.expectedVersion !== undefined && update.expectedVersion !== execution.versionNumber) {
    return { ok: false, error: { code: "VersionMismatch", message: `expectedVersion ${update.expectedVersion} does not match the execution's version ${execution.versionNumber}`, executionState: stateOf(execution) } };
  }
  if (isTerminal(execution.status) || !DEVICE_STATUSES.includes(update.status)) {
    return { ok: false, error: { code: "InvalidStateTransition", message: `the job execution cannot change from ${execution.status} to ${update.status}`, executionState: stateOf(execution) } };
  }
  const now = timing.nowMs;
  const next: ExecutionRecord = {
    ...execution, status: update.status, statusDetails: update.statusDetails ?? execution.statusDetails,
    versionNumber: execution.versionNumber + 1, lastUpdatedAt: now,
  };
  if (update.status === "IN_PROGRESS") {
    if (execution.status === "QUEUED") {
      next.startedAt = now;
      if (timing.inProgressTimeoutInMinutes !== undefined) next.inProgressDeadline = now + timing.inProgressTimeoutInMinutes * timing.minuteMs;
    }
    next.stepDeadline = nextStepDeadline(execution.stepDeadline, update.stepTimeoutInMinutes, timing);
  } else {
    next.stepDeadline = undefined;
    next.inProgressDeadline = undefined;
  }
  return { ok: true, value: withoutUndefined(next) };
}

/** StartNextPendingJobExecution on the thing's next execution: a QUEUED one starts; an IN_PROGRESS one is returned unchanged. */
export function startExecution(execution: ExecutionRecord, request: { statusDetails?: Record<string, string>; stepTimeoutInMinutes?: number }, timing: Timing): ExecutionRecord {
  if (execution.status !== "QUEUED") return execution;
  const result = applyDeviceUpdate(execution, { status: "IN_PROGRESS", ...request }, timing);
  return result.ok ? result.value : execution;
}

/**
 * The service ends an execution (cancel, timeout, removal from the target group): it becomes
 * `status`, its timers stop and its version goes up.
 */
export function endExecution(execution: ExecutionRecord, status: "CANCELED" | "TIMED_OUT" | "REMOVED", nowMs: number, extra: { forceCanceled?: boolean; statusDetails?: Record<string, string> } = {}): ExecutionRecord {
  return withoutUndefined({
    ...execution, status, versionNumber: execution.versionNumber + 1, lastUpdatedAt: nowMs,
    statusDetails: extra.statusDetails ?? execution.statusDetails,
    forceCanceled: extra.forceCanceled ?? execution.forceCanceled,
    stepDeadline: undefined, inProgressDeadline: undefined,
  });
}

/** The earliest timer of a pending execution (epoch ms), or undefined when none runs. */
export function deadlineOf(execution: ExecutionRecord): number | undefined {
  if (!isPending(execution.status)) return undefined;
  const deadlines = [execution.stepDeadline, execution.inProgressDeadline].filter((d): d is number => d !== undefined);
  return deadlines.length > 0 ? Math.min(...deadlines) : undefined;
}

/**
 * A thing's pending executions in the order AWS hands them out: IN_PROGRESS first, then
 * QUEUED, each in the order they were created. The first is `$next`.
 */
export function pendingInOrder(executions: readonly ExecutionRecord[]): ExecutionRecord[] {
  const rank = (e: ExecutionRecord) => (e.status === "IN_PROGRESS" ? 0 : 1);
  return executions.filter((e) => isPending(e.status)).sort((a, b) => rank(a) - rank(b) || a.executionNumber - b.executionNumber);
}

function withoutUndefined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}
