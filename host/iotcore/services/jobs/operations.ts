// The IoT control plane's Jobs operations (the `iot` service model), shaped as AWS answers them:
// timestamps in epoch seconds, lists paged with maxResults/nextToken, failures as AwsErrors.
import type { OperationHandler, OperationInput } from "../../control/server.js";
import { AwsError } from "../../registry/errors.js";
import { page } from "../iot/registry-operations.js";
import { statusDetailsProblem, TERMINAL_STATUSES, EXECUTION_STATUSES, type ExecutionRecord, type ExecutionStatus } from "./execution.js";
import type { Jobs } from "./jobs.js";
import type { JobRecord } from "./store.js";

export interface JobsOperationsContext {
  jobs: Jobs;
  now: () => number;
  thingArn: (thingName: string) => string;
}

const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

function processDetails(job: JobRecord, executions: ExecutionRecord[]) {
  const count = (status: ExecutionStatus) => executions.filter((e) => e.status === status).length;
  return {
    processingTargets: job.status === "IN_PROGRESS" ? job.targets : [],
    numberOfCanceledThings: count("CANCELED"), numberOfSucceededThings: count("SUCCEEDED"), numberOfFailedThings: count("FAILED"),
    numberOfRejectedThings: count("REJECTED"), numberOfQueuedThings: count("QUEUED"), numberOfInProgressThings: count("IN_PROGRESS"),
    numberOfRemovedThings: count("REMOVED"), numberOfTimedOutThings: count("TIMED_OUT"),
  };
}

function executionSummaryOf(e: ExecutionRecord) {
  return {
    status: e.status, queuedAt: seconds(e.queuedAt), startedAt: seconds(e.startedAt), lastUpdatedAt: seconds(e.lastUpdatedAt),
    executionNumber: e.executionNumber, retryAttempt: 0,
  };
}

function checkStatus(status: unknown): ExecutionStatus | undefined {
  if (status === undefined) return undefined;
  if (!EXECUTION_STATUSES.includes(status as ExecutionStatus)) throw new AwsError("InvalidRequestException", `status must be one of ${EXECUTION_STATUSES.join(", ")}`);
  return status as ExecutionStatus;
}

/** The Jobs operations, keyed by their service-model names. */
export function jobsOperations(context: JobsOperationsContext): Record<string, OperationHandler> {
  const { jobs } = context;
  const jobSummary = (job: JobRecord) => ({
    jobArn: job.jobArn, jobId: job.jobId, targetSelection: job.targetSelection, status: job.status,
    createdAt: seconds(job.createdAt), lastUpdatedAt: seconds(job.lastUpdatedAt), completedAt: seconds(job.completedAt), isConcurrent: false,
  });
  const approximateSeconds = (e: ExecutionRecord) => {
    const deadlines = [e.stepDeadline, e.inProgressDeadline].filter((d): d is number => d !== undefined);
    return deadlines.length > 0 && !TERMINAL_STATUSES.includes(e.status) ? Math.max(0, Math.round((Math.min(...deadlines) - context.now()) / 1000)) : undefined;
  };
  return {
    CreateJob: (input: OperationInput) => {
      const job = jobs.createJob({
        jobId: input.jobId, targets: input.targets, document: input.document, documentSource: input.documentSource,
        description: input.description, targetSelection: input.targetSelection, timeoutConfig: input.timeoutConfig,
      });
      return { jobArn: job.jobArn, jobId: job.jobId, description: job.description };
    },
    DescribeJob: (input: OperationInput) => {
      const job = jobs.getJob(input.jobId);
      return {
        job: {
          jobArn: job.jobArn, jobId: job.jobId, targetSelection: job.targetSelection, status: job.status,
          forceCanceled: job.forceCanceled ?? false, reasonCode: job.reasonCode, comment: job.comment, targets: job.targets,
          description: job.description, createdAt: seconds(job.createdAt), lastUpdatedAt: seconds(job.lastUpdatedAt),
          completedAt: seconds(job.completedAt), jobProcessDetails: processDetails(job, jobs.executionsOf(job.jobId)),
          timeoutConfig: job.timeoutConfig, isConcurrent: false,
        },
      };
    },
    GetJobDocument: (input: OperationInput) => ({ document: jobs.jobDocumentOf(input.jobId) }),
    ListJobs: (input: OperationInput) => {
      let list = jobs.listJobs();
      if (input.status !== undefined) list = list.filter((j) => j.status === input.status);
      if (input.targetSelection !== undefined) list = list.filter((j) => j.targetSelection === input.targetSelection);
      if (input.thingGroupName !== undefined) list = list.filter((j) => j.targets.some((t) => t.endsWith(`:thinggroup/${input.thingGroupName}`)));
      const { items, next } = page(list, input.maxResults, input.nextToken);
      return { jobs: items.map(jobSummary), nextToken: next };
    },
    CancelJob: (input: OperationInput) => {
      const job = jobs.cancelJob(input.jobId, { force: input.force === true, reasonCode: input.reasonCode, comment: input.comment });
      return { jobArn: job.jobArn, jobId: job.jobId, description: job.description };
    },
    DeleteJob: (input: OperationInput) => {
      jobs.deleteJob(input.jobId, input.force === true);
    },
    DescribeJobExecution: (input: OperationInput) => {
      jobs.getJob(input.jobId);
      const e = jobs.execution(input.jobId, input.thingName, input.executionNumber);
      return {
        execution: {
          jobId: e.jobId, status: e.status, forceCanceled: e.forceCanceled ?? false,
          statusDetails: { detailsMap: e.statusDetails ?? {} }, thingArn: context.thingArn(e.thingName),
          queuedAt: seconds(e.queuedAt), startedAt: seconds(e.startedAt), lastUpdatedAt: seconds(e.lastUpdatedAt),
          executionNumber: e.executionNumber, versionNumber: e.versionNumber, approximateSecondsBeforeTimedOut: approximateSeconds(e),
        },
      };
    },
    ListJobExecutionsForJob: (input: OperationInput) => {
      jobs.getJob(input.jobId);
      const status = checkStatus(input.status);
      const list = jobs.executionsOf(input.jobId).filter((e) => status === undefined || e.status === status);
      const { items, next } = page(list, input.maxResults, input.nextToken);
      return { executionSummaries: items.map((e) => ({ thingArn: context.thingArn(e.thingName), jobExecutionSummary: executionSummaryOf(e) })), nextToken: next };
    },
    ListJobExecutionsForThing: (input: OperationInput) => {
      const status = checkStatus(input.status);
      const list = jobs.executionsOnThing(input.thingName).filter((e) => (status === undefined || e.status === status) && (input.jobId === undefined || e.jobId === input.jobId));
      const { items, next } = page(list, input.maxResults, input.nextToken);
      return { executionSummaries: items.map((e) => ({ jobId: e.jobId, jobExecutionSummary: executionSummaryOf(e) })), nextToken: next };
    },
    CancelJobExecution: (input: OperationInput) => {
      if (input.statusDetails !== undefined) {
        const problem = statusDetailsProblem(input.statusDetails);
        if (problem) throw new AwsError("InvalidRequestException", problem);
      }
      jobs.cancelExecution(input.jobId, input.thingName, { force: input.force === true, expectedVersion: input.expectedVersion, statusDetails: input.statusDetails });
    },
    DeleteJobExecution: (input: OperationInput) => {
      jobs.getJob(input.jobId);
      jobs.deleteExecution(input.jobId, input.thingName, Number(input.executionNumber), input.force === true);
    },
  };
}
