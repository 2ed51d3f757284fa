// Handlers for the registry operations of the AWS IoT control plane. Each returns the
// operation's output as AWS shapes it (timestamps in epoch seconds); failures are AwsErrors.
import { AwsError } from "../../registry/errors.js";
import type { CaRecord, CertificateRecord, Registry, ThingRecord } from "../../registry/registry.js";
import { parseCertificate } from "../../registry/x509.js";
import { fromPem } from "../../../../certs/pki.js";
import type { OperationHandler, OperationInput } from "../../control/server.js";

export interface RegistryOperationsContext {
  registry: Registry;
  endpoint: (endpointType: string) => string;
  log: (line: string) => void;
}

const seconds = (ms: number): number => ms / 1000;

/**
 * Pages a list the way AWS does with `pageSize`/`marker` or `maxResults`/`nextToken`: a size
 * outside 1-250 (AWS's bounds for these lists) or a token this stand-in did not issue is
 * InvalidRequestException.
 */
export function page<T>(items: T[], size: unknown, marker: unknown): { items: T[]; next?: string } {
  if (size !== undefined && (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > 250)) {
    throw new AwsError("InvalidRequestException", `1 validation error detected: Value '${String(size)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 250`);
  }
  if (marker !== undefined && (typeof marker !== "string" || !/^\d+$/.test(marker))) throw new AwsError("InvalidRequestException", "The pagination token is not one this service issued");
  const start = marker === undefined ? 0 : Number(marker);
  const count = typeof size === "number" ? size : 250;
  const slice = items.slice(start, start + count);
  return { items: slice, next: start + count < items.length ? String(start + count) : undefined };
}

function validity(pem: string): { notBefore?: number; notAfter?: number } {
  const der = fromPem(pem)[0];
  const cert = der && parseCertificate(der);
  if (!cert) return {};
  return { notBefore: seconds(Date.parse(cert.validFrom)), notAfter: seconds(Date.parse(cert.validTo)) };
}

function describeCa(ca: CaRecord, registry: Registry) {
  return {
    certificateDescription: {
      certificateArn: ca.certificateArn, certificateId: ca.certificateId, status: ca.status,
      certificatePem: ca.certificatePem, ownedBy: registry.accountId, creationDate: seconds(ca.creationDate),
      autoRegistrationStatus: ca.autoRegistrationStatus, lastModifiedDate: seconds(ca.lastModifiedDate),
      customerVersion: 1, generationId: String(ca.lastModifiedDate), validity: validity(ca.certificatePem),
      certificateMode: ca.certificateMode,
    },
    registrationConfig: ca.registrationConfig ?? {},
  };
}

function describeCertificate(c: CertificateRecord, registry: Registry) {
  return {
    certificateDescription: {
      certificateArn: c.certificateArn, certificateId: c.certificateId, caCertificateId: c.caCertificateId,
      status: c.status, certificatePem: c.certificatePem, ownedBy: registry.accountId,
      creationDate: seconds(c.creationDate), lastModifiedDate: seconds(c.lastModifiedDate),
      customerVersion: 1, generationId: String(c.lastModifiedDate), validity: validity(c.certificatePem),
      certificateMode: "DEFAULT",
      // Not an AWS member (SDKs and the CLI drop it): how the certificate came to be, for the console.
      origin: c.origin ?? "registered",
    },
  };
}

function thingSummary(t: ThingRecord) {
  return { thingName: t.thingName, thingArn: t.thingArn, thingTypeName: t.thingTypeName, attributes: t.attributes, version: t.version };
}

function certificateIdOfPrincipal(principal: string): string | undefined {
  return /:cert\/([0-9a-f]{64})$/.exec(principal)?.[1];
}

/** The registry operations, keyed by their service-model names. */
export function registryOperations(context: RegistryOperationsContext): Record<string, OperationHandler> {
  const { registry, log } = context;
  return {
    GetRegistrationCode: () => ({ registrationCode: registry.registrationCode() }),

    DescribeEndpoint: (input) => {
      const type = input.endpointType ?? "iot:Data";
      // AWS documents exactly these four types.
      if (!["iot:Data", "iot:Data-ATS", "iot:CredentialProvider", "iot:Jobs"].includes(type)) {
        throw new AwsError("InvalidRequestException", `Endpoint type ${String(type)} is not valid: use iot:Data-ATS, iot:Data, iot:CredentialProvider or iot:Jobs`);
      }
      return { endpointAddress: context.endpoint(type) };
    },

    RegisterCACertificate: (input) => {
      const ca = registry.registerCa({
        caCertificatePem: input.caCertificate, verificationCertificatePem: input.verificationCertificate,
        setAsActive: input.setAsActive, allowAutoRegistration: input.allowAutoRegistration,
        registrationConfig: input.registrationConfig, certificateMode: input.certificateMode,
      });
      log(`registry: CA ${ca.certificateId} registered ${ca.status}, auto-registration ${ca.autoRegistrationStatus}${ca.registrationConfig?.templateBody ? ", with a provisioning template (JITP)" : ""}`);
      return { certificateArn: ca.certificateArn, certificateId: ca.certificateId };
    },
    DescribeCACertificate: (input) => describeCa(registry.getCa(input.certificateId), registry),
    ListCACertificates: (input) => {
      const { items, next } = page(registry.cas.list(), input.pageSize, input.marker);
      return {
        certificates: items.map((c) => ({ certificateArn: c.certificateArn, certificateId: c.certificateId, status: c.status, creationDate: seconds(c.creationDate) })),
        nextMarker: next,
      };
    },
    UpdateCACertificate: (input) => {
      const ca = registry.updateCa(input.certificateId, input);
      log(`registry: CA ${ca.certificateId} now ${ca.status}, auto-registration ${ca.autoRegistrationStatus}`);
    },
    DeleteCACertificate: (input) => { registry.deleteCa(input.certificateId); },

    RegisterCertificate: (input) => {
      const status = input.status ?? (input.setAsActive ? "ACTIVE" : "INACTIVE");
      const c = registry.registerCertificate({ certificatePem: input.certificatePem, caCertificatePem: input.caCertificatePem, status });
      log(`registry: certificate ${c.certificateId} registered ${c.status}`);
      return { certificateArn: c.certificateArn, certificateId: c.certificateId };
    },
    RegisterCertificateWithoutCA: (input) => {
      const c = registry.registerCertificate({ certificatePem: input.certificatePem, status: input.status ?? "INACTIVE" });
      log(`registry: certificate ${c.certificateId} registered without CA, ${c.status}`);
      return { certificateArn: c.certificateArn, certificateId: c.certificateId };
    },
    DescribeCertificate: (input) => describeCertificate(registry.getCertificate(input.certificateId), registry),
    ListCertificates: (input) => listCertificates(registry, input, () => true),
    ListCertificatesByCA: (input) => {
      registry.getCa(input.caCertificateId);
      return listCertificates(registry, input, (c) => c.caCertificateId === input.caCertificateId);
    },
    UpdateCertificate: (input) => {
      const c = registry.updateCertificate(input.certificateId, input.newStatus);
      log(`registry: certificate ${c.certificateId} now ${c.status}`);
    },
    DeleteCertificate: (input) => { registry.deleteCertificate(input.certificateId); },

    CreatePolicy: (input) => {
      const p = registry.createPolicy(input.policyName, input.policyDocument);
      return { policyName: p.policyName, policyArn: p.policyArn, policyDocument: p.policyDocument, policyVersionId: p.defaultVersionId };
    },
    GetPolicy: (input) => {
      const p = registry.getPolicy(input.policyName);
      return {
        policyName: p.policyName, policyArn: p.policyArn, policyDocument: p.policyDocument, defaultVersionId: p.defaultVersionId,
        creationDate: seconds(p.creationDate), lastModifiedDate: seconds(p.lastModifiedDate), generationId: String(p.lastModifiedDate),
      };
    },
    ListPolicies: (input) => {
      const { items, next } = page(registry.policies.list(), input.pageSize, input.marker);
      return { policies: items.map((p) => ({ policyName: p.policyName, policyArn: p.policyArn })), nextMarker: next };
    },
    DeletePolicy: (input) => { registry.deletePolicy(input.policyName); },
    AttachPolicy: (input) => attach(input.policyName, input.target),
    AttachPrincipalPolicy: (input) => attach(input.policyName, input.principal),
    DetachPolicy: (input) => { registry.detachPolicy(input.policyName, input.target); },
    DetachPrincipalPolicy: (input) => { registry.detachPolicy(input.policyName, input.principal); },
    ListAttachedPolicies: (input) => ({
      policies: registry.policiesOf(input.target).map((p) => ({ policyName: p.policyName, policyArn: p.policyArn })),
    }),
    ListPrincipalPolicies: (input) => ({
      policies: registry.policiesOf(input.principal).map((p) => ({ policyName: p.policyName, policyArn: p.policyArn })),
    }),
    ListTargetsForPolicy: (input) => ({ targets: registry.getPolicy(input.policyName).targets }),

    CreateThing: (input) => {
      const t = registry.createThing({ thingName: input.thingName, attributes: input.attributePayload?.attributes, thingTypeName: input.thingTypeName });
      return { thingName: t.thingName, thingArn: t.thingArn, thingId: t.thingId };
    },
    DescribeThing: (input) => {
      const t = registry.getThing(input.thingName);
      return { defaultClientId: t.thingName, thingName: t.thingName, thingId: t.thingId, thingArn: t.thingArn, thingTypeName: t.thingTypeName, attributes: t.attributes, version: t.version };
    },
    ListThings: (input) => {
      let things = registry.things.list();
      if (input.attributeName) things = things.filter((t) => t.attributes[input.attributeName] === input.attributeValue);
      if (input.thingTypeName) things = things.filter((t) => t.thingTypeName === input.thingTypeName);
      const { items, next } = page(things, input.maxResults, input.nextToken);
      return { things: items.map(thingSummary), nextToken: next };
    },
    UpdateThing: (input) => {
      const thing = registry.getThing(input.thingName);
      if (input.expectedVersion !== undefined && input.expectedVersion !== thing.version) {
        throw new AwsError("VersionConflictException", `The expected version ${input.expectedVersion} does not match the thing's version ${thing.version}`);
      }
      const merge = input.attributePayload?.merge === true;
      const given: Record<string, string> = input.attributePayload?.attributes ?? {};
      let attributes: Record<string, string> | undefined;
      if (input.attributePayload?.attributes) {
        // AWS: with merge, an empty value removes the attribute; without it, the attributes are replaced.
        attributes = merge ? { ...thing.attributes, ...given } : { ...given };
        if (merge) for (const [name, value] of Object.entries(given)) if (value === "") delete attributes[name];
      }
      registry.updateThing(input.thingName, {
        ...(attributes ? { attributes } : {}),
        ...(input.thingTypeName ? { thingTypeName: input.thingTypeName } : {}),
      });
      if (input.removeThingType === true) {
        const updated = registry.getThing(input.thingName);
        registry.things.put(updated.thingName, { ...updated, thingTypeName: undefined });
      }
    },
    DeleteThing: (input) => { registry.deleteThing(input.thingName); },
    AttachThingPrincipal: (input) => { registry.attachThingPrincipal(input.thingName, input.principal); },
    DetachThingPrincipal: (input) => { registry.detachThingPrincipal(input.thingName, input.principal); },
    ListThingPrincipals: (input) => ({ principals: registry.getThing(input.thingName).principals }),
    ListPrincipalThings: (input) => ({ things: registry.thingsOf(input.principal) }),

    CreateThingGroup: (input) => {
      const g = registry.createThingGroup(input.thingGroupName);
      return { thingGroupName: g.thingGroupName, thingGroupArn: g.thingGroupArn, thingGroupId: g.thingGroupId };
    },
    DescribeThingGroup: (input) => {
      const g = registry.getThingGroup(input.thingGroupName);
      return { thingGroupName: g.thingGroupName, thingGroupId: g.thingGroupId, thingGroupArn: g.thingGroupArn, version: 1, thingGroupMetadata: { creationDate: seconds(g.creationDate) } };
    },
    AddThingToThingGroup: (input) => { registry.addThingToThingGroup(input.thingGroupName, input.thingName); },
    ListThingGroupsForThing: (input) => {
      registry.getThing(input.thingName);
      return { thingGroups: registry.groupsOf(input.thingName).map((name) => ({ groupName: name, groupArn: registry.getThingGroup(name).thingGroupArn })) };
    },
    ListThingsInThingGroup: (input) => ({ things: registry.getThingGroup(input.thingGroupName).things }),
    RemoveThingFromThingGroup: (input) => { registry.removeThingFromThingGroup(input.thingGroupName, input.thingName); },
    ListThingGroups: (input) => {
      const { items, next } = page(registry.thingGroups.list(), input.maxResults, input.nextToken);
      return { thingGroups: items.map((g) => ({ groupName: g.thingGroupName, groupArn: g.thingGroupArn })), nextToken: next };
    },
    DeleteThingGroup: (input) => { registry.deleteThingGroup(input.thingGroupName); },

    CreateThingType: (input) => {
      const t = registry.createThingType(input.thingTypeName, input.thingTypeProperties ?? {});
      return { thingTypeName: t.thingTypeName, thingTypeArn: t.thingTypeArn, thingTypeId: t.thingTypeId };
    },
    DescribeThingType: (input) => {
      const t = registry.getThingType(input.thingTypeName);
      return {
        thingTypeName: t.thingTypeName, thingTypeId: t.thingTypeId, thingTypeArn: t.thingTypeArn, thingTypeProperties: t.thingTypeProperties,
        thingTypeMetadata: { deprecated: t.deprecated, creationDate: seconds(t.creationDate) },
      };
    },
    ListThingTypes: (input) => {
      const all = registry.thingTypes.list().filter((t) => !input.thingTypeName || t.thingTypeName === input.thingTypeName);
      const { items, next } = page(all, input.maxResults, input.nextToken);
      return {
        thingTypes: items.map((t) => ({ thingTypeName: t.thingTypeName, thingTypeArn: t.thingTypeArn, thingTypeProperties: t.thingTypeProperties, thingTypeMetadata: { deprecated: t.deprecated, creationDate: seconds(t.creationDate) } })),
        nextToken: next,
      };
    },
    DeprecateThingType: (input) => { registry.deprecateThingType(input.thingTypeName, input.undoDeprecate === true); },
    DeleteThingType: (input) => { registry.deleteThingType(input.thingTypeName); },

    CreatePolicyVersion: (input) => {
      const v = registry.createPolicyVersion(input.policyName, input.policyDocument, input.setAsDefault === true);
      const p = registry.getPolicy(input.policyName);
      log(`registry: policy ${p.policyName} version ${v.versionId}${p.defaultVersionId === v.versionId ? " (default)" : ""}`);
      return { policyArn: p.policyArn, policyDocument: v.document, policyVersionId: v.versionId, isDefaultVersion: p.defaultVersionId === v.versionId };
    },
    ListPolicyVersions: (input) => {
      const p = registry.getPolicy(input.policyName);
      return { policyVersions: registry.policyVersions(p.policyName).map((v) => ({ versionId: v.versionId, isDefaultVersion: v.versionId === p.defaultVersionId, createDate: seconds(v.createDate) })) };
    },
    GetPolicyVersion: (input) => {
      const p = registry.getPolicy(input.policyName);
      const v = registry.policyVersion(p.policyName, input.policyVersionId);
      return {
        policyArn: p.policyArn, policyName: p.policyName, policyDocument: v.document, policyVersionId: v.versionId,
        isDefaultVersion: v.versionId === p.defaultVersionId, creationDate: seconds(v.createDate), lastModifiedDate: seconds(v.createDate), generationId: String(v.createDate),
      };
    },
    SetDefaultPolicyVersion: (input) => {
      registry.setDefaultPolicyVersion(input.policyName, input.policyVersionId);
      log(`registry: policy ${input.policyName} now uses version ${input.policyVersionId}`);
    },
    DeletePolicyVersion: (input) => { registry.deletePolicyVersion(input.policyName, input.policyVersionId); },
  };

  function attach(policyName: string, target: string): void {
    const id = certificateIdOfPrincipal(target);
    if (!id && !target.startsWith("arn:") && !/^[\w-]+:[0-9a-f-]+$/.test(target)) {
      throw new AwsError("InvalidRequestException", `target ${target} is not a principal ARN or identity id`);
    }
    registry.attachPolicy(policyName, target);
    log(`registry: policy ${policyName} attached to ${target}`);
  }
}

function listCertificates(registry: Registry, input: OperationInput, keep: (c: CertificateRecord) => boolean) {
  const { items, next } = page(registry.certificates.list().filter(keep), input.pageSize, input.marker);
  return {
    certificates: items.map((c) => ({
      certificateArn: c.certificateArn, certificateId: c.certificateId, status: c.status,
      certificateMode: "DEFAULT", creationDate: seconds(c.creationDate),
    })),
    nextMarker: next,
  };
}
