// AWS IoT's data plane over HTTPS and its reserved topics: the Device Shadow service (classic and
// named shadows on `$aws/things/<thing>/shadow/...`, and GetThingShadow, UpdateThingShadow,
// DeleteThingShadow, ListNamedShadowsForThing on the 443 listener, signed for `iotdata`), and
// HTTPS publish (Publish, `POST /topics/<topic>`, authenticated as a device: https-publish.ts).
import type { RouteTable } from "../../control/routes.js";
import type { CoreContext, Service } from "../../service.js";
import { attachedPolicies } from "../../registry/registry.js";
import { HttpsPublishService } from "./https-publish.js";
import routes from "./routes.json" with { type: "json" };
import { ShadowService } from "./service.js";
import { ShadowStore } from "./store.js";

export interface IotDataService extends Service {
  shadows: ShadowService;
  httpsPublish: HttpsPublishService;
}

/** `hostNames`: the names devices and `aws iot-data --endpoint-url` reach the data endpoint by. */
export function iotDataService(core: CoreContext, deps: { hostNames: string[] }): IotDataService {
  const shadows = new ShadowService({
    store: new ShadowStore(core.stateDir), now: () => core.now(), log: (line) => core.log(line),
    publish: (topic, payload) => core.broker.publish(topic, payload),
  });
  const httpsPublish = new HttpsPublishService({
    scope: { region: core.region, accountId: core.accountId },
    certificates: core.authentication.certificate, connections: core.authentication.connection, credentials: core.accessKeys,
    attachedTo: (target) => attachedPolicies(core.registry, target),
    now: () => core.now(), log: core.log, publish: (topic, payload, qos, retain) => core.broker.publish(topic, payload, qos, retain),
  });
  // Publish arrives on any name and on the "8443" listener; claim() keeps what authentication needs.
  core.dataPlane.onHttpsRequest((request, response, info) => {
    if (!httpsPublish.claim(request, info)) return false;
    core.dataPlane.serveApi(request, response);
    return true;
  });
  return {
    name: "iotdata", shadows, httpsPublish,
    api: {
      routes: routes as RouteTable, operations: { ...shadows.operations(), ...httpsPublish.operations() },
      selfAuthenticating: ["Publish"], hostNames: deps.hostNames,
    },
    topics: [{ filter: "$aws/things/+/shadow/#", onPublish: (message) => void shadows.handleMessage(message) }],
  };
}
