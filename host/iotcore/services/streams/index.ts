// MQTT-based file delivery as one service of the stand-in: streams on the control plane (the IoT
// API, signed for `iot`) and the device topics `$aws/things/<thing>/streams/...` (docs/jobs.md).
import type { RouteTable } from "../../control/routes.js";
import type { CoreContext, Service } from "../../service.js";
import routes from "./routes.json" with { type: "json" };
import { Streams, type StreamRecord } from "./streams.js";

export { Streams } from "./streams.js";

export interface StreamsService extends Service {
  readonly streams: Streams;
}

export function streamsService(core: CoreContext): StreamsService {
  const records = core.store<StreamRecord>("streams");
  const streams = new Streams({
    records, stateDir: core.stateDir, arn: (resource) => core.arn("iot", resource), now: () => core.now(), log: (line) => core.log(line),
    answer: (clientId, topic, payload) => core.broker.answer(clientId, topic, payload),
  });
  return {
    name: "streams", streams,
    api: { routes: routes as RouteTable, operations: streams.operations() },
    topics: [{ filter: "$aws/things/+/streams/#", onPublish: (message) => void streams.handleMessage(message) }],
    persists: [records],
  };
}
