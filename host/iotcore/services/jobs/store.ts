// Jobs and their executions, kept in the state directory (`services/jobs/jobs.json` and
// `job-executions.json`). Executions are keyed `<jobId>/<thingName>/<executionNumber>` (neither
// a job id nor a thing name can hold a `/`); a thing has at most one pending execution per job.
import type { Collection } from "../../registry/collection.js";
import type { ExecutionRecord } from "./execution.js";

export type JobStatus = "IN_PROGRESS" | "CANCELED" | "COMPLETED" | "DELETION_IN_PROGRESS";
export type TargetSelection = "SNAPSHOT" | "CONTINUOUS";

export interface JobRecord {
  jobId: string;
  jobArn: string;
  /** thing and thing-group ARNs */
  targets: string[];
  targetSelection: TargetSelection;
  document: string;
  description?: string;
  status: JobStatus;
  forceCanceled?: boolean;
  reasonCode?: string;
  comment?: string;
  timeoutConfig?: { inProgressTimeoutInMinutes?: number };
  /** epoch ms */
  createdAt: number;
  lastUpdatedAt: number;
  completedAt?: number;
}

export class JobStore {
  private nextNumber: number;

  constructor(readonly jobs: Collection<JobRecord>, readonly executions: Collection<ExecutionRecord>) {
    this.nextNumber = 1 + Math.max(0, ...executions.list().map((e) => e.executionNumber));
  }

  /** A new execution number: unique in the account, increasing with creation. */
  allocateNumber(): number {
    return this.nextNumber++;
  }

  putExecution(execution: ExecutionRecord): ExecutionRecord {
    return this.executions.put(executionKey(execution), execution);
  }

  deleteExecution(execution: ExecutionRecord): void {
    this.executions.delete(executionKey(execution));
  }

  /** Every execution of a job, oldest first. */
  executionsOfJob(jobId: string): ExecutionRecord[] {
    return this.executions.list().filter((e) => e.jobId === jobId).sort(byNumber);
  }

  /** Every execution on a thing, oldest first. */
  executionsOfThing(thingName: string): ExecutionRecord[] {
    return this.executions.list().filter((e) => e.thingName === thingName).sort(byNumber);
  }

  /** The thing's execution of the job with that number, or its latest when no number is given. */
  execution(jobId: string, thingName: string, executionNumber?: number): ExecutionRecord | undefined {
    const mine = this.executions.list().filter((e) => e.jobId === jobId && e.thingName === thingName);
    if (executionNumber !== undefined) return mine.find((e) => e.executionNumber === executionNumber);
    return mine.sort(byNumber).at(-1);
  }
}

function executionKey(e: ExecutionRecord): string {
  return `${e.jobId}/${e.thingName}/${e.executionNumber}`;
}

function byNumber(a: ExecutionRecord, b: ExecutionRecord): number {
  return a.executionNumber - b.executionNumber;
}
