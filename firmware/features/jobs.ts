// The jobs feature: AWS IoT Jobs on the device's MQTT session. The agent (features/jobs/agent.ts)
// runs one job at a time: `config` (live settings, checked as the shadow checks them), `reboot`,
// and the operations optional modules add through features/jobs/operations.ts (OTA: `afr_ota`).

import type { Feature } from "./feature.js";
import { startJobsAgent } from "./jobs/agent.js";

const jobs: Feature = {
  name: "jobs",
  settings: {},
  start: startJobsAgent,
};

export default jobs;
