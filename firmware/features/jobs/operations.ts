// What the jobs agent runs: a job as an operation sees it, and the registry through which an
// optional feature module adds an operation (OTA adds `afr_ota`). The agent carries `config`
// and `reboot` itself; a build without OTA carries none of OTA's code.

/** A job execution's statusDetails: AWS keeps string values only (docs/jobs.md; docs/ota.md, "Jobs, as the device agent uses them"). */
export type Details = Record<string, string>;

export type FinalStatus = "SUCCEEDED" | "FAILED" | "REJECTED";

export interface Job {
  readonly id: string;
  readonly document: Record<string, unknown>;
  /**
   * The execution's statusDetails as last reported: an operation resumed after a restart reads
   * the step it had reached here.
   */
  readonly details: Details;
  /** Reports IN_PROGRESS with `details` (they replace the previous ones); `then` runs once the service accepted it. */
  progress(details: Details, then?: () => void): void;
  /** Reports the final status with `reason` in statusDetails; the agent then takes the next job. */
  end(status: FinalStatus, reason: string, details?: Details): void;
}

/**
 * Runs one kind of job: called when a job of its kind starts, or resumes after a restart (the
 * service hands an IN_PROGRESS execution back). `stop` ends it early (the job was canceled, the
 * device stops).
 */
export type Operation = (job: Job) => { stop(): void } | void;

/** Operations added by optional feature modules, by the name a job document gives (`operation`, or `afr_ota`). */
export const operations: Record<string, Operation> = {};
