// IoT Jobs: jobs targeting things and static thing groups (SNAPSHOT, or CONTINUOUS following
// the groups), their executions through AWS's status machine (execution.ts), the timers that
// end them as TIMED_OUT, and the notifications AWS publishes when a thing's pending executions
// change (`$aws/things/<thing>/jobs/notify` and `notify-next`). The control plane
// (operations.ts) and the device MQTT API (device-api.ts) are two doors into this class.
import { AwsError, notFound } from "../../registry/errors.js";
import type { Registry } from "../../registry/registry.js";
import {
  endExecution, isTerminal, pendingInOrder, startExecution, applyDeviceUpdate, deadlineOf,
  type DeviceUpdate, type ExecutionRecord, type Outcome, type Timing,
} from "./execution.js";
import type { JobRecord, JobStore, TargetSelection } from "./store.js";

export interface JobsOptions {
  store: JobStore;
  registry: Registry;
  /** `arn:aws:iot:<region>:<account>:<resource>` */
  arn: (resource: string) => string;
  now: () => number;
  log: (line: string) => void;
  /** publishes as AWS does on the thing's reserved topics (notify, notify-next) */
  publish: (topic: string, payload: string) => Promise<void>;
  /** ms in a minute of the timers (60,000; tests shorten it) */
  minuteMs?: number;
}

/** AWS: job ids are 1-64 characters of [a-zA-Z0-9_-]; documents at most 32 kB; in-progress timeouts 1-10080 minutes. */
const JOB_ID = /^[a-zA-Z0-9_-]{1,64}$/;
export const MAX_DOCUMENT_BYTES = 32 * 1024;
const IN_PROGRESS_TIMEOUT_MINUTES = { min: 1, max: 10080 };

export interface CreateJobRequest {
  jobId: string;
  targets: string[];
  document?: string;
  documentSource?: string;
  description?: string;
  targetSelection?: string;
  timeoutConfig?: { inProgressTimeoutInMinutes?: number };
}

export class Jobs {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly minuteMs: number;
  private closed = false;

  constructor(private readonly o: JobsOptions) {
    this.minuteMs = o.minuteMs ?? 60_000;
    for (const execution of o.store.executions.list()) this.schedule(execution);
    o.registry.onGroupMembership((change) => this.membershipChanged(change.thingGroupName, change.thingName, change.member));
  }

  // ---- jobs ------------------------------------------------------------------------------

  createJob(request: CreateJobRequest): JobRecord {
    const { store } = this.o;
    if (!JOB_ID.test(request.jobId ?? "")) throw new AwsError("InvalidRequestException", `jobId '${request.jobId}' must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-'`);
    if (store.jobs.has(request.jobId)) throw new AwsError("ResourceAlreadyExistsException", `Job ${request.jobId} already exists`);
    if (request.documentSource !== undefined) {
      throw new AwsError("InvalidRequestException", "documentSource (a job document in S3) is not served by this stand-in: pass the document inline with --document (see docs/iotcore-compatibility.md)");
    }
    if (typeof request.document !== "string") throw new AwsError("InvalidRequestException", "a job needs a document: pass it inline with --document");
    if (Buffer.byteLength(request.document) > MAX_DOCUMENT_BYTES) throw new AwsError("InvalidRequestException", `the job document is larger than ${MAX_DOCUMENT_BYTES} bytes`);
    try {
      const parsed: unknown = JSON.parse(request.document);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    } catch {
      throw new AwsError("InvalidRequestException", "the job document must be a JSON object");
    }
    const selection = (request.targetSelection ?? "SNAPSHOT") as TargetSelection;
    if (selection !== "SNAPSHOT" && selection !== "CONTINUOUS") throw new AwsError("InvalidRequestException", `targetSelection must be SNAPSHOT or CONTINUOUS, not '${request.targetSelection}'`);
    const minutes = request.timeoutConfig?.inProgressTimeoutInMinutes;
    if (minutes !== undefined && (!Number.isInteger(minutes) || minutes < IN_PROGRESS_TIMEOUT_MINUTES.min || minutes > IN_PROGRESS_TIMEOUT_MINUTES.max)) {
      throw new AwsError("InvalidRequestException", `timeoutConfig.inProgressTimeoutInMinutes must be an integer from ${IN_PROGRESS_TIMEOUT_MINUTES.min} to ${IN_PROGRESS_TIMEOUT_MINUTES.max}`);
    }
    if (!Array.isArray(request.targets) || request.targets.length === 0) throw new AwsError("InvalidRequestException", "a job needs at least one target (a thing or thing group ARN)");
    const things = new Set<string>();
    for (const target of request.targets) for (const thing of this.thingsOf(target)) things.add(thing);
    const now = this.o.now();
    const job: JobRecord = {
      jobId: request.jobId, jobArn: this.o.arn(`job/${request.jobId}`), targets: [...request.targets], targetSelection: selection,
      document: request.document, status: "IN_PROGRESS", createdAt: now, lastUpdatedAt: now,
      ...(request.description !== undefined ? { description: request.description } : {}),
      ...(minutes !== undefined ? { timeoutConfig: { inProgressTimeoutInMinutes: minutes } } : {}),
    };
    store.jobs.put(job.jobId, job);
    this.o.log(`jobs: job ${job.jobId} created (${selection}) for ${things.size} thing(s)`);
    for (const thing of things) this.queue(job, thing);
    this.completeIfDone(job.jobId);
    return this.getJob(job.jobId);
  }

  getJob(jobId: string): JobRecord {
    const job = this.o.store.jobs.get(String(jobId));
    if (!job) throw notFound(`Job ${jobId}`);
    return job;
  }

  listJobs(): JobRecord[] {
    return this.o.store.jobs.list().sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * CancelJob: QUEUED executions are canceled; IN_PROGRESS ones too with `force` (marked
   * forceCanceled). A COMPLETED job cannot be canceled; a CANCELED one only again with force.
   */
  cancelJob(jobId: string, options: { force?: boolean; reasonCode?: string; comment?: string }): JobRecord {
    const job = this.getJob(jobId);
    if (job.status === "COMPLETED") throw new AwsError("InvalidStateTransitionException", `Job ${jobId} is COMPLETED and cannot be canceled`);
    if (job.status === "CANCELED" && !options.force) throw new AwsError("InvalidStateTransitionException", `Job ${jobId} is already CANCELED: cancel it again with force to cancel its IN_PROGRESS executions too`);
    const now = this.o.now();
    this.o.store.jobs.put(job.jobId, {
      ...job, status: "CANCELED", lastUpdatedAt: now, forceCanceled: options.force === true || job.forceCanceled === true,
      ...(options.reasonCode !== undefined ? { reasonCode: options.reasonCode } : {}),
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    });
    for (const execution of this.o.store.executionsOfJob(jobId)) {
      if (execution.status === "QUEUED" || (execution.status === "IN_PROGRESS" && options.force)) {
        this.change(execution.thingName, () => this.save(endExecution(execution, "CANCELED", now, { forceCanceled: execution.status === "IN_PROGRESS" })));
      }
    }
    this.o.log(`jobs: job ${jobId} canceled${options.force ? " (force)" : ""}`);
    return this.getJob(jobId);
  }

  /** DeleteJob: an IN_PROGRESS job only with force; its executions go with it. */
  deleteJob(jobId: string, force: boolean): void {
    const job = this.getJob(jobId);
    if (job.status === "IN_PROGRESS" && !force) throw new AwsError("InvalidStateTransitionException", `Job ${jobId} is IN_PROGRESS: cancel it first or delete it with force`);
    for (const execution of this.o.store.executionsOfJob(jobId)) {
      this.change(execution.thingName, () => {
        this.unschedule(execution);
        this.o.store.deleteExecution(execution);
      });
    }
    this.o.store.jobs.delete(jobId);
    this.o.log(`jobs: job ${jobId} deleted`);
  }

  // ---- executions (control plane) --------------------------------------------------------

  execution(jobId: string, thingName: string, executionNumber?: number): ExecutionRecord {
    const execution = this.o.store.execution(jobId, thingName, executionNumber);
    if (!execution) throw notFound(`Job execution of ${jobId} on ${thingName}${executionNumber !== undefined ? ` number ${executionNumber}` : ""}`);
    return execution;
  }

  /** CancelJobExecution: QUEUED ones; IN_PROGRESS only with force; terminal ones never. */
  cancelExecution(jobId: string, thingName: string, options: { force?: boolean; expectedVersion?: number; statusDetails?: Record<string, string> }): void {
    this.getJob(jobId);
    const execution = this.execution(jobId, thingName);
    if (options.expectedVersion !== undefined && options.expectedVersion !== execution.versionNumber) {
      throw new AwsError("VersionConflictException", `expectedVersion ${options.expectedVersion} does not match the execution's version ${execution.versionNumber}`);
    }
    if (isTerminal(execution.status)) throw new AwsError("InvalidStateTransitionException", `the job execution is ${execution.status} and cannot be canceled`);
    if (execution.status === "IN_PROGRESS" && !options.force) throw new AwsError("InvalidStateTransitionException", "the job execution is IN_PROGRESS: cancel it with force");
    this.change(thingName, () => this.save(endExecution(execution, "CANCELED", this.o.now(), {
      forceCanceled: execution.status === "IN_PROGRESS", ...(options.statusDetails ? { statusDetails: options.statusDetails } : {}),
    })));
    this.o.log(`jobs: execution of ${jobId} on ${thingName} canceled`);
    this.completeIfDone(jobId);
  }

  /** DeleteJobExecution: terminal executions; IN_PROGRESS ones only with force. */
  deleteExecution(jobId: string, thingName: string, executionNumber: number, force: boolean): void {
    const execution = this.execution(jobId, thingName, executionNumber);
    if (!isTerminal(execution.status) && !force) throw new AwsError("InvalidStateTransitionException", `the job execution is ${execution.status}: delete it with force`);
    this.change(thingName, () => {
      this.unschedule(execution);
      this.o.store.deleteExecution(execution);
    });
    this.completeIfDone(jobId);
  }

  jobDocumentOf(jobId: string): string {
    return this.getJob(jobId).document;
  }

  /** The job document parsed (CreateJob accepts JSON objects only), or undefined for an unknown job. */
  documentObject(jobId: string): unknown {
    const document = this.o.store.jobs.get(jobId)?.document;
    return document === undefined ? undefined : JSON.parse(document) as unknown;
  }

  // ---- executions (device) ---------------------------------------------------------------

  /** The thing's pending executions, `$next` first. */
  pending(thingName: string): ExecutionRecord[] {
    return pendingInOrder(this.o.store.executionsOfThing(thingName));
  }

  /** StartNextPendingJobExecution: the next pending execution, started if it was QUEUED; undefined when none. */
  startNext(thingName: string, request: { statusDetails?: Record<string, string>; stepTimeoutInMinutes?: number }): ExecutionRecord | undefined {
    const next = this.pending(thingName)[0];
    if (!next) return undefined;
    if (next.status === "IN_PROGRESS") return next;
    let started = next;
    this.change(thingName, () => { started = this.save(startExecution(next, request, this.timing(next.jobId))); });
    this.o.log(`jobs: ${thingName} started ${next.jobId}`);
    return started;
  }

  /** UpdateJobExecution from the device. */
  update(thingName: string, jobId: string, request: DeviceUpdate & { executionNumber?: number }): Outcome<ExecutionRecord> {
    const execution = this.o.store.execution(jobId, thingName, request.executionNumber);
    if (!execution || !this.o.store.jobs.has(jobId)) return { ok: false, error: { code: "ResourceNotFound", message: `no execution of job ${jobId} on ${thingName}` } };
    const result = applyDeviceUpdate(execution, request, this.timing(jobId));
    if (!result.ok) return result;
    this.change(thingName, () => this.save(result.value));
    this.o.log(`jobs: ${thingName} reported ${jobId} ${result.value.status}`);
    if (isTerminal(result.value.status)) this.completeIfDone(jobId);
    return result;
  }

  // ---- targets ---------------------------------------------------------------------------

  /** Things a target ARN names now: the thing, or the group's members. Unknown targets are ResourceNotFoundException. */
  private thingsOf(target: string): string[] {
    const match = /^arn:aws[a-z-]*:iot:[^:]*:[^:]*:(thing|thinggroup)\/(.+)$/.exec(String(target));
    if (!match) throw new AwsError("InvalidRequestException", `target '${target}' is not a thing or thing group ARN`);
    if (match[1] === "thing") return [this.o.registry.getThing(match[2]).thingName];
    return [...this.o.registry.getThingGroup(match[2]).things];
  }

  private targets(job: JobRecord, thingName: string): boolean {
    return job.targets.some((target) => {
      const match = /:(thing|thinggroup)\/(.+)$/.exec(target);
      if (!match) return false;
      if (match[1] === "thing") return match[2] === thingName;
      return this.o.registry.thingGroups.get(match[2])?.things.includes(thingName) ?? false;
    });
  }

  /** Continuous jobs follow their groups: a new member gets an execution, a leaving one loses its QUEUED execution (REMOVED). */
  private membershipChanged(groupName: string, thingName: string, member: boolean): void {
    if (this.closed) return;
    for (const job of this.o.store.jobs.list()) {
      if (job.targetSelection !== "CONTINUOUS" || job.status !== "IN_PROGRESS") continue;
      if (!job.targets.some((t) => t.endsWith(`:thinggroup/${groupName}`))) continue;
      const latest = this.o.store.execution(job.jobId, thingName);
      if (member && (!latest || latest.status === "REMOVED")) {
        this.queue(job, thingName);
        this.o.log(`jobs: ${thingName} joined ${groupName}: continuous job ${job.jobId} queued for it`);
      } else if (!member && latest?.status === "QUEUED" && !this.targets(job, thingName)) {
        this.change(thingName, () => this.save(endExecution(latest, "REMOVED", this.o.now())));
        this.o.log(`jobs: ${thingName} left ${groupName}: its execution of ${job.jobId} is REMOVED`);
      }
    }
  }

  private queue(job: JobRecord, thingName: string): void {
    const now = this.o.now();
    this.change(thingName, () => this.save({
      jobId: job.jobId, thingName, executionNumber: this.o.store.allocateNumber(), status: "QUEUED",
      versionNumber: 1, queuedAt: now, lastUpdatedAt: now,
    }));
  }

  /** A SNAPSHOT job whose executions have all ended is COMPLETED. */
  private completeIfDone(jobId: string): void {
    const job = this.o.store.jobs.get(jobId);
    if (!job || job.status !== "IN_PROGRESS" || job.targetSelection !== "SNAPSHOT") return;
    if (this.o.store.executionsOfJob(jobId).some((e) => !isTerminal(e.status))) return;
    const now = this.o.now();
    this.o.store.jobs.put(jobId, { ...job, status: "COMPLETED", completedAt: now, lastUpdatedAt: now });
    this.o.log(`jobs: job ${jobId} COMPLETED`);
  }

  // ---- timers ----------------------------------------------------------------------------

  private timing(jobId: string): Timing {
    const minutes = this.o.store.jobs.get(jobId)?.timeoutConfig?.inProgressTimeoutInMinutes;
    return { nowMs: this.o.now(), minuteMs: this.minuteMs, ...(minutes !== undefined ? { inProgressTimeoutInMinutes: minutes } : {}) };
  }

  private save(execution: ExecutionRecord): ExecutionRecord {
    this.o.store.putExecution(execution);
    this.schedule(execution);
    return execution;
  }

  private schedule(execution: ExecutionRecord): void {
    this.unschedule(execution);
    const deadline = deadlineOf(execution);
    if (deadline === undefined || this.closed) return;
    const key = timerKey(execution);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.timeOut(execution.jobId, execution.thingName, execution.executionNumber);
    }, Math.max(0, deadline - this.o.now()));
    timer.unref();
    this.timers.set(key, timer);
  }

  private unschedule(execution: ExecutionRecord): void {
    const key = timerKey(execution);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  private timeOut(jobId: string, thingName: string, executionNumber: number): void {
    const execution = this.o.store.execution(jobId, thingName, executionNumber);
    const deadline = execution && deadlineOf(execution);
    if (!execution || deadline === undefined) return;
    if (deadline > this.o.now()) return this.schedule(execution);
    const which = deadline === execution.stepDeadline ? "step timer" : "in-progress timer";
    this.change(thingName, () => this.save(endExecution(execution, "TIMED_OUT", this.o.now())));
    this.o.log(`jobs: execution of ${jobId} on ${thingName} TIMED_OUT (${which})`);
    this.completeIfDone(jobId);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  // ---- notifications ---------------------------------------------------------------------

  /**
   * Runs a change to a thing's executions, then publishes what AWS publishes: `notify` when the
   * set of pending executions changed, `notify-next` when the next one changed.
   */
  private change(thingName: string, work: () => void): void {
    const before = this.pending(thingName);
    work();
    const after = this.pending(thingName);
    const ids = (list: ExecutionRecord[]) => list.map((e) => `${e.jobId}/${e.executionNumber}`).sort().join(",");
    const seconds = Math.floor(this.o.now() / 1000);
    const topic = `$aws/things/${thingName}/jobs`;
    if (ids(before) !== ids(after)) {
      const jobs: Record<string, unknown[]> = {};
      for (const e of after) (jobs[e.status] ??= []).push(executionSummary(e));
      this.publish(`${topic}/notify`, { jobs, timestamp: seconds });
    }
    const [was, now] = [before[0], after[0]];
    if (was?.jobId !== now?.jobId || was?.executionNumber !== now?.executionNumber) {
      this.publish(`${topic}/notify-next`, now ? { execution: this.executionData(now, true), timestamp: seconds } : { timestamp: seconds });
    }
  }

  private publish(topic: string, body: object): void {
    this.o.publish(topic, JSON.stringify(body)).catch((error: Error) => this.o.log(`jobs: ${topic} not published: ${error.message}`));
  }

  /** The device API's JobExecution (timestamps in epoch seconds; the job document as a JSON object, as AWS sends it over MQTT). */
  executionData(e: ExecutionRecord, includeJobDocument: boolean): Record<string, unknown> {
    const document = includeJobDocument ? this.documentObject(e.jobId) : undefined;
    return {
      jobId: e.jobId, thingName: e.thingName, ...(document !== undefined ? { jobDocument: document } : {}),
      status: e.status, ...(e.statusDetails ? { statusDetails: e.statusDetails } : {}),
      queuedAt: seconds(e.queuedAt), ...(e.startedAt !== undefined ? { startedAt: seconds(e.startedAt) } : {}),
      lastUpdatedAt: seconds(e.lastUpdatedAt), versionNumber: e.versionNumber, executionNumber: e.executionNumber,
    };
  }

  /** Every execution of a job, oldest first. */
  executionsOf(jobId: string): ExecutionRecord[] {
    return this.o.store.executionsOfJob(jobId);
  }

  /** Every execution on a thing, oldest first. */
  executionsOnThing(thingName: string): ExecutionRecord[] {
    return this.o.store.executionsOfThing(thingName);
  }
}

/** The device API's JobExecutionSummary. */
export function executionSummary(e: ExecutionRecord): Record<string, unknown> {
  return {
    jobId: e.jobId, queuedAt: seconds(e.queuedAt), ...(e.startedAt !== undefined ? { startedAt: seconds(e.startedAt) } : {}),
    lastUpdatedAt: seconds(e.lastUpdatedAt), versionNumber: e.versionNumber, executionNumber: e.executionNumber,
  };
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function timerKey(e: ExecutionRecord): string {
  return `${e.jobId}/${e.thingName}/${e.executionNumber}`;
}
