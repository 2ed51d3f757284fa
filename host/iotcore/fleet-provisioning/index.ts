// Fleet provisioning as one service of the stand-in: its state (templates in the registry
// folder, the ownership-token key), its control-plane operations and the reserved topics it
// answers. The composition root (../index.ts) installs it.
import type { OperationHandler } from "../control/server.js";
import type { LocalFunctions } from "../functions/local-functions.js";
import { DeviceCertificateIssuer } from "../pki/device-certificates.js";
import type { Registry } from "../registry/registry.js";
import type { Principal } from "../dataplane/types.js";
import { fleetProvisioningOperations } from "./operations.js";
import { OwnershipTokens } from "./ownership-tokens.js";
import { FleetProvisioningService } from "./service.js";
import { ProvisioningTemplates, type ProvisioningTemplateRecord } from "./templates.js";

export { FleetProvisioningService } from "./service.js";
export type { Rejection } from "./service.js";

export interface FleetProvisioning {
  readonly templates: ProvisioningTemplates;
  readonly operations: Record<string, OperationHandler>;
  handleMessage(message: { topic: string; payload: Uint8Array; clientId?: string; principal?: Principal }): boolean;
}

export function installFleetProvisioning(deps: {
  stateDir: string; registry: Registry; functions: LocalFunctions; serverCa: { certPem: string; keyPem: string };
  now: () => number; log: (line: string) => void;
  reply: (clientId: string, topic: string, payload: string) => Promise<boolean>;
}): FleetProvisioning {
  const { registry, functions, now, log } = deps;
  const templates = new ProvisioningTemplates(registry.collection<ProvisioningTemplateRecord>("provisioning-templates"), {
    arn: (resource) => registry.arn(resource), now, isFunction: (arn) => functions.nameOf(arn) !== undefined,
  });
  const issuer = new DeviceCertificateIssuer(registry, deps.serverCa);
  const tokens = new OwnershipTokens(deps.stateDir, now);
  const service = new FleetProvisioningService({ registry, templates, issuer, tokens, functions, log, reply: deps.reply });
  return {
    templates,
    operations: fleetProvisioningOperations({ templates, issuer, log }),
    handleMessage: (message) => service.handleMessage(message),
  };
}
