// The control-plane operations of fleet provisioning (provisioning templates and their
// versions) and the certificate operations that issue keys and certificates
// (CreateKeysAndCertificate, CreateCertificateFromCsr), as AWS shapes their outputs
// (timestamps in epoch seconds).
import type { OperationHandler } from "../../control/server.js";
import type { DeviceCertificateIssuer } from "../../pki/device-certificates.js";
import type { ProvisioningTemplateRecord, ProvisioningTemplates } from "./templates.js";

const seconds = (ms: number): number => ms / 1000;

function page<T>(items: T[], size: unknown, token: unknown): { items: T[]; next?: string } {
  const start = typeof token === "string" && /^\d+$/.test(token) ? Number(token) : 0;
  const count = typeof size === "number" && size > 0 ? size : 25;
  return { items: items.slice(start, start + count), next: start + count < items.length ? String(start + count) : undefined };
}

function summary(t: ProvisioningTemplateRecord) {
  return {
    templateArn: t.templateArn, templateName: t.templateName, description: t.description, enabled: t.enabled, type: t.type,
    creationDate: seconds(t.creationDate), lastModifiedDate: seconds(t.lastModifiedDate),
  };
}

export function fleetProvisioningOperations(deps: { templates: ProvisioningTemplates; issuer: DeviceCertificateIssuer; log: (line: string) => void }): Record<string, OperationHandler> {
  const { templates, issuer, log } = deps;
  return {
    CreateProvisioningTemplate: (input) => {
      const t = templates.create(input);
      log(`fleet provisioning: template ${t.templateName} created (${t.enabled ? "enabled" : "disabled"}${t.preProvisioningHook ? `, pre-provisioning hook ${t.preProvisioningHook.targetArn}` : ""})`);
      return { templateArn: t.templateArn, templateName: t.templateName, defaultVersionId: t.defaultVersionId };
    },
    DescribeProvisioningTemplate: (input) => {
      const t = templates.get(input.templateName);
      return { ...summary(t), defaultVersionId: t.defaultVersionId, templateBody: templates.body(t), provisioningRoleArn: t.provisioningRoleArn, preProvisioningHook: t.preProvisioningHook };
    },
    ListProvisioningTemplates: (input) => {
      const { items, next } = page(templates.list(), input.maxResults, input.nextToken);
      return { templates: items.map(summary), nextToken: next };
    },
    UpdateProvisioningTemplate: (input) => {
      const t = templates.update(input.templateName, input);
      log(`fleet provisioning: template ${t.templateName} updated (${t.enabled ? "enabled" : "disabled"}, default version ${t.defaultVersionId})`);
    },
    DeleteProvisioningTemplate: (input) => { templates.delete(input.templateName); },
    CreateProvisioningTemplateVersion: (input) => {
      const { record, version } = templates.createVersion(input.templateName, input.templateBody, input.setAsDefault);
      return { templateArn: record.templateArn, templateName: record.templateName, versionId: version.versionId, isDefaultVersion: version.versionId === record.defaultVersionId };
    },
    DescribeProvisioningTemplateVersion: (input) => {
      const { record, version } = templates.version(input.templateName, input.versionId);
      return { versionId: version.versionId, creationDate: seconds(version.creationDate), templateBody: version.templateBody, isDefaultVersion: version.versionId === record.defaultVersionId };
    },
    ListProvisioningTemplateVersions: (input) => {
      const record = templates.get(input.templateName);
      const { items, next } = page(record.versions, input.maxResults, input.nextToken);
      return {
        versions: items.map((v) => ({ versionId: v.versionId, creationDate: seconds(v.creationDate), isDefaultVersion: v.versionId === record.defaultVersionId })),
        nextToken: next,
      };
    },
    DeleteProvisioningTemplateVersion: (input) => { templates.deleteVersion(input.templateName, input.versionId); },

    CreateKeysAndCertificate: async (input) => {
      const created = await issuer.createKeysAndCertificate(input.setAsActive === true ? "ACTIVE" : "INACTIVE", "created");
      const { certificateArn, certificateId, certificatePem, status } = created.record;
      log(`registry: certificate ${certificateId} created with a new key pair, ${status}`);
      return { certificateArn, certificateId, certificatePem, keyPair: { PublicKey: created.publicKeyPem, PrivateKey: created.privateKeyPem } };
    },
    CreateCertificateFromCsr: async (input) => {
      const record = await issuer.createCertificateFromCsr(input.certificateSigningRequest, input.setAsActive === true ? "ACTIVE" : "INACTIVE", "created");
      log(`registry: certificate ${record.certificateId} created from a CSR, ${record.status}`);
      return { certificateArn: record.certificateArn, certificateId: record.certificateId, certificatePem: record.certificatePem };
    },
  };
}
