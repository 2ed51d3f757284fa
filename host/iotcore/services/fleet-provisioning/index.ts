// Fleet provisioning by claim, as one service of the stand-in: provisioning templates and
// CreateKeysAndCertificate / CreateCertificateFromCsr on the control plane (the IoT API, signed
// for `iot`), and the reserved topics `$aws/certificates/...` and
// `$aws/provisioning-templates/<name>/provision/json`, answered on the requesting connection.
import type { RouteTable } from "../../control/routes.js";
import { DeviceCertificateIssuer } from "../../pki/device-certificates.js";
import type { CoreContext, Service } from "../../service.js";
import type { LocalFunctions } from "../lambda/local-functions.js";
import type { RateWindow } from "../../dataplane/quotas.js";
import { fleetProvisioningOperations } from "./operations.js";
import { OwnershipTokens } from "./ownership-tokens.js";
import routes from "./routes.json" with { type: "json" };
import { FleetProvisioningService } from "./service.js";
import { ProvisioningTemplates, type ProvisioningTemplateRecord } from "./templates.js";

export { FleetProvisioningService } from "./service.js";
export type { Rejection } from "./service.js";

export interface FleetProvisioning extends Service {
  readonly templates: ProvisioningTemplates;
  readonly service: FleetProvisioningService;
}

export function fleetProvisioningService(core: CoreContext, deps: { functions: LocalFunctions; serverCa: { certPem: string; keyPem: string }; registrations?: RateWindow }): FleetProvisioning {
  const { registry } = core;
  const now = () => core.now();
  const log = (line: string) => core.log(line);
  const records = core.store<ProvisioningTemplateRecord>("provisioning-templates");
  const templates = new ProvisioningTemplates(records, {
    arn: (resource) => core.arn("iot", resource), now, isFunction: (arn) => deps.functions.nameOf(arn) !== undefined,
  });
  const issuer = new DeviceCertificateIssuer(registry, deps.serverCa);
  const tokens = new OwnershipTokens(core.stateDir, now);
  const service = new FleetProvisioningService({
    registry, templates, issuer, tokens, functions: deps.functions, log, now, registrations: deps.registrations,
    reply: (clientId, topic, payload) => core.broker.publishTo(clientId, topic, payload),
  });
  const onPublish = (message: Parameters<FleetProvisioningService["handleMessage"]>[0]) => void service.handleMessage(message);
  return {
    name: "fleet-provisioning", templates, service,
    api: { routes: routes as RouteTable, operations: fleetProvisioningOperations({ templates, issuer, log }) },
    topics: [{ filter: "$aws/certificates/#", onPublish }, { filter: "$aws/provisioning-templates/#", onPublish }],
    persists: [records],
  };
}
