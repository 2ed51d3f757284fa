// The AWS IoT control plane: the registry's operations (certificates, CAs, things, policies),
// custom authorizers, domain configurations (custom domains served by SNI) and topic rules,
// which run on every message the broker accepts.
import type { Authorizers } from "../../auth/authorizers.js";
import type { RouteTable } from "../../control/routes.js";
import type { OperationInput } from "../../control/server.js";
import { AwsError, notFound } from "../../registry/errors.js";
import type { Collection } from "../../registry/collection.js";
import type { CoreContext, Service } from "../../service.js";
import type { LocalFunctions } from "../lambda/local-functions.js";
import { DomainConfigurations, type DomainConfigurationRecord, type ServerCertificateRecord } from "./domain-configurations.js";
import { registryOperations } from "./registry-operations.js";
import { TopicRules, type TopicRuleRecord } from "./rules/topic-rules.js";
import routes from "./routes.json" with { type: "json" };

export interface IotService extends Service {
  domains: DomainConfigurations;
  rules: TopicRules;
}

export interface IotDependencies {
  /** The device data endpoint (`<prefix>-ats.iot.<region>.amazonaws.com`). */
  endpoint: string;
  /** Custom authorizers (the core runs them when devices connect). */
  authorizers: Authorizers;
  /** Where SetDefaultAuthorizer keeps the default endpoint's authorizer name. */
  defaultAuthorizer: Collection<{ authorizerName: string }>;
  /** Server certificates by ARN (ACM's), for domain configurations. */
  serverCertificates: Collection<ServerCertificateRecord>;
  functions: LocalFunctions;
  /** Runs after DeleteThing (other services drop what they keep per thing, e.g. shadows). */
  onThingDeleted?(thingName: string): Promise<void>;
}

export function iotService(core: CoreContext, deps: IotDependencies): IotService {
  const { registry } = core;
  const arn = (resource: string) => core.arn("iot", resource);
  const log = (line: string) => core.log(line);
  const nowMs = () => core.now();
  const configurations = core.store<DomainConfigurationRecord>("domain-configurations");
  const domains = new DomainConfigurations({
    configurations, certificates: deps.serverCertificates, region: core.region, accountId: core.accountId, arn,
    issueServerCertificate: (names) => core.issueServerCertificate(names), nowMs, log,
  });
  const ruleRecords = core.store<TopicRuleRecord>("topic-rules");
  const rules = new TopicRules({ records: ruleRecords, arn, functions: deps.functions, nowMs, log, publish: (topic, payload, qos) => core.broker.publish(topic, payload, qos) });

  // Names served by SNI beyond the default endpoint: the enabled custom domains.
  const served = new Set<string>();
  const syncDomains = () => {
    const current = new Map(domains.served().map((d) => [d.domainName, d.certificate]));
    for (const name of served) if (!current.has(name)) { core.dataPlane.removeServerName(name); served.delete(name); }
    for (const [name, c] of current) {
      if (served.has(name)) continue;
      core.dataPlane.addServerName(name, { cert: c.certificatePem + (c.chainPem ?? ""), key: c.privateKeyPem });
      served.add(name);
    }
  };
  syncDomains();

  const registryOps = registryOperations({ registry, log, endpoint: (type) => endpointFor(type, deps.endpoint, registry.endpointPrefix(), core.region) });
  const domainOps = Object.fromEntries(Object.entries(domains.operations()).map(([name, run]) => [name, async (input: OperationInput) => {
    const output = await run(input);
    syncDomains();
    return output;
  }]));
  const operations = {
    ...registryOps,
    DeleteThing: async (input: OperationInput, caller: Parameters<typeof registryOps.DeleteThing>[1]) => {
      registryOps.DeleteThing!(input, caller);
      await deps.onThingDeleted?.(String(input.thingName));
    },
    UpdateCertificate: (input: OperationInput, caller: Parameters<typeof registryOps.UpdateCertificate>[1]) => {
      const result = registryOps.UpdateCertificate!(input, caller);
      if (input.newStatus !== "ACTIVE") core.broker.disconnectWhere((p) => p.certificateId === input.certificateId, `certificate is now ${input.newStatus}`);
      return result;
    },
    ...deps.authorizers.operations(),
    ...rules.operations(),
    ...domainOps,
    SetDefaultAuthorizer: async ({ authorizerName }: OperationInput) => {
      const a = deps.authorizers.get(String(authorizerName));
      if (!a) throw notFound(`authorizer ${authorizerName}`);
      deps.defaultAuthorizer.put("default", { authorizerName: a.authorizerName });
      return { authorizerName: a.authorizerName, authorizerArn: a.authorizerArn };
    },
    DescribeDefaultAuthorizer: async () => {
      const a = deps.authorizers.get(deps.defaultAuthorizer.get("default")?.authorizerName ?? "");
      if (!a) throw new AwsError("ResourceNotFoundException", "no default authorizer is set");
      return { authorizerDescription: a };
    },
  };

  return {
    name: "iot", domains, rules,
    api: { routes: routes as RouteTable, operations },
    topics: [{ filter: "#", onPublish: (message) => rules.onMessage(message) }],
    persists: [configurations, ruleRecords],
    close: () => rules.settled(),
  };
}

function endpointFor(type: string, endpoint: string, prefix: string, region: string): string {
  switch (type) {
    case "iot:Data": return `${prefix}.iot.${region}.amazonaws.com`;
    case "iot:CredentialProvider": return `${prefix}.credentials.iot.${region}.amazonaws.com`;
    case "iot:Jobs": return `${prefix}.jobs.iot.${region}.amazonaws.com`;
    default: return endpoint;
  }
}
