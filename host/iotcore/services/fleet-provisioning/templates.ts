// Provisioning templates as the AWS IoT control plane keeps them: name, body (in versions, one
// of them the default), provisioning role, enabled flag, type, optional pre-provisioning hook.
// Persisted in `<state>/registry/provisioning-templates.json`. Operations in operations.ts.
import type { Collection } from "../../registry/collection.js";
import { AwsError, notFound } from "../../registry/errors.js";

export interface TemplateVersion { versionId: number; templateBody: string; creationDate: number }

export interface ProvisioningTemplateRecord {
  templateName: string;
  templateArn: string;
  description?: string;
  provisioningRoleArn: string;
  enabled: boolean;
  type: "FLEET_PROVISIONING" | "JITP";
  preProvisioningHook?: { targetArn: string; payloadVersion: string };
  defaultVersionId: number;
  versions: TemplateVersion[];
  nextVersionId: number;
  creationDate: number;
  lastModifiedDate: number;
}

// AWS IoT quotas: template names 1-36 of [0-9A-Za-z_-]; at most 5 versions per template; a
// body of at most 10,240 characters.
const NAME = /^[0-9A-Za-z_-]{1,36}$/;
export const MAX_VERSIONS = 5;
const MAX_BODY = 10_240;
// The only pre-provisioning hook payload version AWS defines.
const HOOK_PAYLOAD_VERSION = "2020-04-01";

export interface TemplateInput {
  templateName?: unknown; description?: unknown; templateBody?: unknown; enabled?: unknown; provisioningRoleArn?: unknown;
  preProvisioningHook?: { targetArn?: unknown; payloadVersion?: unknown }; type?: unknown;
}

export class ProvisioningTemplates {
  constructor(
    private readonly records: Collection<ProvisioningTemplateRecord>,
    private readonly context: { arn: (resource: string) => string; now: () => number; isFunction: (arn: string) => boolean },
  ) {}

  /** Raises InvalidRequestException or ResourceAlreadyExistsException. */
  create(input: TemplateInput): ProvisioningTemplateRecord {
    const name = String(input.templateName ?? "");
    if (!NAME.test(name)) throw new AwsError("InvalidRequestException", `templateName '${name}' must be 1-36 characters of [0-9A-Za-z_-]`);
    if (this.records.has(name)) throw new AwsError("ResourceAlreadyExistsException", `Provisioning template ${name} already exists`);
    const body = checkBody(input.templateBody);
    if (typeof input.provisioningRoleArn !== "string" || !/^arn:aws:iam::\d{12}:role\/.+/.test(input.provisioningRoleArn)) {
      throw new AwsError("InvalidRequestException", "provisioningRoleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
    }
    const type = input.type ?? "FLEET_PROVISIONING";
    if (type !== "FLEET_PROVISIONING" && type !== "JITP") throw new AwsError("InvalidRequestException", "type must be FLEET_PROVISIONING or JITP");
    const now = this.context.now();
    return this.records.put(name, {
      templateName: name,
      templateArn: this.context.arn(`provisioningtemplate/${name}`),
      description: typeof input.description === "string" ? input.description : undefined,
      provisioningRoleArn: input.provisioningRoleArn,
      enabled: input.enabled === true,
      type,
      preProvisioningHook: input.preProvisioningHook ? this.checkHook(input.preProvisioningHook, type) : undefined,
      defaultVersionId: 1,
      versions: [{ versionId: 1, templateBody: body, creationDate: now }],
      nextVersionId: 2,
      creationDate: now,
      lastModifiedDate: now,
    });
  }

  /** Raises ResourceNotFoundException. */
  get(name: unknown): ProvisioningTemplateRecord {
    const record = this.records.get(String(name));
    if (!record) throw notFound(`Provisioning template ${String(name)}`);
    return record;
  }

  /** The default version's body. */
  body(record: ProvisioningTemplateRecord): string {
    return record.versions.find((v) => v.versionId === record.defaultVersionId)!.templateBody;
  }

  list(): ProvisioningTemplateRecord[] {
    return this.records.list();
  }

  update(name: unknown, change: TemplateInput & { defaultVersionId?: unknown; removePreProvisioningHook?: unknown }): ProvisioningTemplateRecord {
    const record = { ...this.get(name) };
    if (typeof change.description === "string") record.description = change.description;
    if (typeof change.enabled === "boolean") record.enabled = change.enabled;
    if (typeof change.provisioningRoleArn === "string") record.provisioningRoleArn = change.provisioningRoleArn;
    if (change.defaultVersionId !== undefined) {
      const id = Number(change.defaultVersionId);
      if (!record.versions.some((v) => v.versionId === id)) throw notFound(`Version ${id} of provisioning template ${record.templateName}`);
      record.defaultVersionId = id;
    }
    if (change.preProvisioningHook) record.preProvisioningHook = this.checkHook(change.preProvisioningHook, record.type);
    if (change.removePreProvisioningHook === true) record.preProvisioningHook = undefined;
    record.lastModifiedDate = this.context.now();
    return this.records.put(record.templateName, record);
  }

  delete(name: unknown): void {
    this.records.delete(this.get(name).templateName);
  }

  /** Raises VersionsLimitExceededException beyond MAX_VERSIONS. */
  createVersion(name: unknown, templateBody: unknown, setAsDefault: unknown): { record: ProvisioningTemplateRecord; version: TemplateVersion } {
    const record = { ...this.get(name) };
    if (record.versions.length >= MAX_VERSIONS) {
      throw new AwsError("VersionsLimitExceededException", `Provisioning template ${record.templateName} has ${MAX_VERSIONS} versions, the most AWS allows: delete one first`);
    }
    const version = { versionId: record.nextVersionId, templateBody: checkBody(templateBody), creationDate: this.context.now() };
    record.versions = [...record.versions, version];
    record.nextVersionId++;
    if (setAsDefault === true) record.defaultVersionId = version.versionId;
    record.lastModifiedDate = version.creationDate;
    return { record: this.records.put(record.templateName, record), version };
  }

  version(name: unknown, versionId: unknown): { record: ProvisioningTemplateRecord; version: TemplateVersion } {
    const record = this.get(name);
    const version = record.versions.find((v) => v.versionId === Number(versionId));
    if (!version) throw notFound(`Version ${String(versionId)} of provisioning template ${record.templateName}`);
    return { record, version };
  }

  /** Raises DeleteConflictException for the default version. */
  deleteVersion(name: unknown, versionId: unknown): void {
    const { record, version } = this.version(name, versionId);
    if (version.versionId === record.defaultVersionId) {
      throw new AwsError("DeleteConflictException", `Version ${version.versionId} is the default version of ${record.templateName}: make another version the default first`);
    }
    this.records.put(record.templateName, { ...record, versions: record.versions.filter((v) => v !== version) });
  }

  private checkHook(hook: { targetArn?: unknown; payloadVersion?: unknown }, type: string): { targetArn: string; payloadVersion: string } {
    if (type !== "FLEET_PROVISIONING") throw new AwsError("InvalidRequestException", "a pre-provisioning hook is only for FLEET_PROVISIONING templates");
    const targetArn = String(hook.targetArn ?? "");
    if (!this.context.isFunction(targetArn)) {
      throw new AwsError("InvalidRequestException", `preProvisioningHook.targetArn ${targetArn} is not a local function of this account (arn:aws:lambda:<region>:<account>:function:<name>, file <state>/functions/<name>.mjs)`);
    }
    const payloadVersion = hook.payloadVersion === undefined ? HOOK_PAYLOAD_VERSION : String(hook.payloadVersion);
    if (payloadVersion !== HOOK_PAYLOAD_VERSION) throw new AwsError("InvalidRequestException", `preProvisioningHook.payloadVersion must be ${HOOK_PAYLOAD_VERSION}`);
    return { targetArn, payloadVersion };
  }
}

function checkBody(body: unknown): string {
  if (typeof body !== "string" || body.length === 0 || body.length > MAX_BODY) {
    throw new AwsError("InvalidRequestException", `templateBody must be a JSON string of 1-${MAX_BODY} characters`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new AwsError("InvalidRequestException", `templateBody is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || typeof (parsed as { Resources?: unknown }).Resources !== "object") {
    throw new AwsError("InvalidRequestException", "templateBody must be an object with a Resources section");
  }
  return body;
}
