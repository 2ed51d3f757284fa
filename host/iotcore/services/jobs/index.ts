// AWS IoT Jobs as one service of the stand-in: the control-plane operations (the IoT API,
// signed for `iot`) and the device MQTT API on `$aws/things/<thing>/jobs/...` (docs/jobs.md).
import type { RouteTable } from "../../control/routes.js";
import type { CoreContext, Service } from "../../service.js";
import { JobsDeviceApi } from "./device-api.js";
import type { ExecutionRecord } from "./execution.js";
import { Jobs } from "./jobs.js";
import { jobsOperations } from "./operations.js";
import routes from "./routes.json" with { type: "json" };
import { JobStore, type JobRecord } from "./store.js";

export { Jobs } from "./jobs.js";

export interface JobsService extends Service {
  readonly jobs: Jobs;
}

export interface JobsServiceOptions {
  /** ms in a minute of the step and in-progress timers (default 60,000; tests shorten it) */
  minuteMs?: number;
  /** device API requests per thing per second before RequestThrottled (default 10) */
  requestsPerSecond?: number;
}

export function jobsService(core: CoreContext, options: JobsServiceOptions = {}): JobsService {
  const jobRecords = core.store<JobRecord>("jobs");
  const executionRecords = core.store<ExecutionRecord>("job-executions");
  const jobs = new Jobs({
    store: new JobStore(jobRecords, executionRecords), registry: core.registry, arn: (resource) => core.arn("iot", resource),
    now: () => core.now(), log: (line) => core.log(line), publish: (topic, payload) => core.broker.publish(topic, payload),
    ...(options.minuteMs !== undefined ? { minuteMs: options.minuteMs } : {}),
  });
  const device = new JobsDeviceApi({
    jobs, now: () => core.now(), log: (line) => core.log(line),
    answer: (clientId, topic, payload) => core.broker.answer(clientId, topic, payload),
    ...(options.requestsPerSecond !== undefined ? { requestsPerSecond: options.requestsPerSecond } : {}),
  });
  return {
    name: "jobs", jobs,
    api: { routes: routes as RouteTable, operations: jobsOperations({ jobs, now: () => core.now(), thingArn: (name) => core.arn("iot", `thing/${name}`) }) },
    topics: [{ filter: "$aws/things/+/jobs/#", onPublish: (message) => void device.handleMessage(message) }],
    persists: [jobRecords, executionRecords],
    close: async () => jobs.close(),
  };
}
