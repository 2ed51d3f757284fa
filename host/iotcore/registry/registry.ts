// The registry: CA certificates, device certificates (with status), things, policies and their
// attachments, kept as JSON files under `<stateDir>/registry/` so it survives a restart.
// Every mutation is one method; methods raise AwsError with AWS's names on failure.
import { join } from "node:path";
import { Collection } from "./collection.js";
import { AwsError, notFound } from "./errors.js";
import { certificateId, isCa, isIssuedBy, parseCertificate } from "./x509.js";
import type { X509Certificate } from "node:crypto";
import { fromPem, toPem } from "../../../certs/pki.js";

export type CertificateStatus =
  | "ACTIVE" | "INACTIVE" | "REVOKED" | "PENDING_TRANSFER" | "REGISTER_INACTIVE" | "PENDING_ACTIVATION";
export type CaStatus = "ACTIVE" | "INACTIVE";

export interface RegistrationConfig { templateBody?: string; roleArn?: string; templateName?: string }

export interface CaRecord {
  certificateId: string;
  certificateArn: string;
  certificatePem: string;
  status: CaStatus;
  autoRegistrationStatus: "ENABLE" | "DISABLE";
  registrationConfig?: RegistrationConfig;
  certificateMode: "DEFAULT" | "SNI_ONLY";
  creationDate: number;   // epoch ms
  lastModifiedDate: number;
}

/**
 * How a certificate came into the registry (the stand-in's own fact; AWS keeps no such field):
 * auto-registered for JITP or JITR, registered through the API, or created with its keys.
 */
export type CertificateOrigin = "jitp" | "jitr" | "fleet-provisioning" | "registered" | "created";

export interface CertificateRecord {
  certificateId: string;
  certificateArn: string;
  certificatePem: string;
  caCertificateId?: string;
  status: CertificateStatus;
  /** absent in records written before it was kept: those were registered through the API */
  origin?: CertificateOrigin;
  creationDate: number;
  lastModifiedDate: number;
}

export interface ThingRecord {
  thingName: string;
  thingId: string;
  thingArn: string;
  thingTypeName?: string;
  attributes: Record<string, string>;
  version: number;
  principals: string[];   // attached principal ARNs
}

export interface PolicyVersion { versionId: string; document: string; createDate: number }

export interface PolicyRecord {
  policyName: string;
  policyArn: string;
  /** the default version's document (what devices are evaluated against) */
  policyDocument: string;
  defaultVersionId: string;
  /** every version, the default included (absent in records written before versions were kept: version 1 only) */
  versions?: PolicyVersion[];
  /** the id the next version gets */
  nextVersionId?: number;
  creationDate: number;
  lastModifiedDate: number;
  targets: string[];      // principal ARNs / targets the policy is attached to
}

export interface ThingGroupRecord {
  thingGroupName: string;
  thingGroupId: string;
  thingGroupArn: string;
  creationDate: number;
  things: string[];       // member thing names
}

/** A thing joined (`member`) or left a static thing group. */
export interface GroupMembershipChange { thingGroupName: string; thingName: string; member: boolean }

export interface ThingTypeRecord {
  thingTypeName: string;
  thingTypeId: string;
  thingTypeArn: string;
  thingTypeProperties: { thingTypeDescription?: string; searchableAttributes?: string[] };
  deprecated: boolean;
  creationDate: number;
}

interface AccountRecord { registrationCode?: string; endpointPrefix?: string }

export interface RegistryOptions {
  stateDir: string;
  region: string;
  accountId: string;
  now: () => number;
  randomHex: (bytes: number) => string;
}

export class Registry {
  readonly cas: Collection<CaRecord>;
  readonly certificates: Collection<CertificateRecord>;
  readonly things: Collection<ThingRecord>;
  readonly policies: Collection<PolicyRecord>;
  readonly thingGroups: Collection<ThingGroupRecord>;
  readonly thingTypes: Collection<ThingTypeRecord>;
  private readonly account: Collection<AccountRecord>;
  private readonly dir: string;
  private readonly membershipListeners = new Set<(change: GroupMembershipChange) => void>();

  constructor(private readonly options: RegistryOptions) {
    this.dir = join(options.stateDir, "registry");
    this.cas = new Collection(this.dir, "ca-certificates");
    this.certificates = new Collection(this.dir, "certificates");
    this.things = new Collection(this.dir, "things");
    this.policies = new Collection(this.dir, "policies");
    this.thingGroups = new Collection(this.dir, "thing-groups");
    this.thingTypes = new Collection(this.dir, "thing-types");
    this.account = new Collection(this.dir, "account");
  }

  /** A further persisted collection (authorizers, domain configurations, rules...). */
  collection<T>(name: string): Collection<T> {
    return new Collection<T>(this.dir, name);
  }

  /** `arn:aws:iot:<region>:<account>:<resource>` */
  arn(resource: string): string {
    return `arn:aws:iot:${this.options.region}:${this.options.accountId}:${resource}`;
  }

  get region(): string { return this.options.region; }
  get accountId(): string { return this.options.accountId; }

  /** The account's registration code: created once, stable afterwards. */
  registrationCode(): string {
    return this.accountValue("registrationCode", () => this.options.randomHex(32));
  }

  /** The account's endpoint prefix (`<prefix>-ats.iot...`): created once, stable afterwards. */
  endpointPrefix(): string {
    // AWS's prefixes are 14 characters (e.g. a1b2c3d4e5f6g7).
    return this.accountValue("endpointPrefix", () => `a${this.options.randomHex(7).slice(1)}`);
  }

  private accountValue(key: keyof AccountRecord, create: () => string): string {
    const record = this.account.get("account") ?? {};
    const existing = record[key];
    if (existing) return existing;
    const value = create();
    this.account.put("account", { ...record, [key]: value });
    return value;
  }

  // ---- CA certificates -------------------------------------------------------------------

  /**
   * Registers a CA. In DEFAULT mode the verification certificate must be signed by the CA
   * and carry the registration code as CommonName. Raises CertificateValidationException,
   * ResourceAlreadyExistsException or InvalidRequestException.
   */
  registerCa(input: {
    caCertificatePem: string; verificationCertificatePem?: string; setAsActive?: boolean;
    allowAutoRegistration?: boolean; registrationConfig?: RegistrationConfig; certificateMode?: "DEFAULT" | "SNI_ONLY";
  }): CaRecord {
    const { der, cert } = parsePem(input.caCertificatePem, "CA certificate");
    if (!isCa(cert)) throw new AwsError("CertificateValidationException", "CA certificate is not a CA (basicConstraints CA:TRUE missing)");
    const mode = input.certificateMode ?? "DEFAULT";
    if (mode === "DEFAULT") this.checkVerificationCertificate(input.verificationCertificatePem, cert);
    const id = certificateId(der);
    if (this.cas.has(id)) throw new AwsError("ResourceAlreadyExistsException", `The CA certificate ${id} is already registered`);
    const now = this.options.now();
    return this.cas.put(id, {
      certificateId: id,
      certificateArn: this.arn(`cacert/${id}`),
      certificatePem: toPem("CERTIFICATE", der),
      status: input.setAsActive ? "ACTIVE" : "INACTIVE",
      autoRegistrationStatus: input.allowAutoRegistration ? "ENABLE" : "DISABLE",
      registrationConfig: input.registrationConfig,
      certificateMode: mode,
      creationDate: now,
      lastModifiedDate: now,
    });
  }

  private checkVerificationCertificate(pem: string | undefined, ca: X509Certificate): void {
    if (!pem) throw new AwsError("InvalidRequestException", "verificationCertificate is required in DEFAULT certificate mode");
    const { cert } = parsePem(pem, "verification certificate");
    if (!isIssuedBy(cert, ca)) {
      throw new AwsError("CertificateValidationException", "The verification certificate is not signed by the CA certificate");
    }
    const commonName = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
    if (commonName !== this.registrationCode()) {
      throw new AwsError("CertificateValidationException", "The verification certificate's CommonName is not the registration code");
    }
  }

  /** Raises ResourceNotFoundException for an unknown id. */
  getCa(id: string): CaRecord {
    const record = this.cas.get(id);
    if (!record) throw notFound(`CA certificate ${id}`);
    return record;
  }

  updateCa(id: string, change: {
    newStatus?: CaStatus; newAutoRegistrationStatus?: "ENABLE" | "DISABLE";
    registrationConfig?: RegistrationConfig; removeAutoRegistration?: boolean;
  }): CaRecord {
    const record = { ...this.getCa(id) };
    if (change.newStatus) record.status = checkEnum(change.newStatus, ["ACTIVE", "INACTIVE"], "newStatus");
    if (change.newAutoRegistrationStatus) {
      record.autoRegistrationStatus = checkEnum(change.newAutoRegistrationStatus, ["ENABLE", "DISABLE"], "newAutoRegistrationStatus");
    }
    if (change.registrationConfig) record.registrationConfig = change.registrationConfig;
    if (change.removeAutoRegistration) record.registrationConfig = undefined;
    record.lastModifiedDate = this.options.now();
    return this.cas.put(id, record);
  }

  /** Raises ResourceNotFoundException, CertificateStateException (still ACTIVE). */
  deleteCa(id: string): void {
    const record = this.getCa(id);
    if (record.status === "ACTIVE") throw new AwsError("CertificateStateException", "An ACTIVE CA certificate cannot be deleted: deactivate it first");
    this.cas.delete(id);
  }

  // ---- device certificates ---------------------------------------------------------------

  /**
   * Registers a device certificate; with a CA it must be issued by a registered CA.
   * Raises CertificateValidationException or ResourceAlreadyExistsException.
   */
  registerCertificate(input: { certificatePem: string; caCertificatePem?: string; status?: CertificateStatus; caCertificateId?: string; origin?: CertificateOrigin }): CertificateRecord {
    const { der, cert } = parsePem(input.certificatePem, "certificate");
    let caCertificateId = input.caCertificateId;
    if (input.caCertificatePem) {
      const ca = parsePem(input.caCertificatePem, "CA certificate");
      caCertificateId = certificateId(ca.der);
      if (!this.cas.has(caCertificateId)) throw new AwsError("CertificateValidationException", "The CA certificate is not registered");
      if (!isIssuedBy(cert, ca.cert)) throw new AwsError("CertificateValidationException", "The certificate is not signed by the CA certificate");
    }
    const id = certificateId(der);
    if (this.certificates.has(id)) throw new AwsError("ResourceAlreadyExistsException", `The certificate ${id} is already registered`);
    const now = this.options.now();
    return this.certificates.put(id, {
      certificateId: id,
      certificateArn: this.arn(`cert/${id}`),
      certificatePem: toPem("CERTIFICATE", der),
      caCertificateId,
      status: input.status ?? "INACTIVE",
      origin: input.origin ?? "registered",
      creationDate: now,
      lastModifiedDate: now,
    });
  }

  /** Raises ResourceNotFoundException for an unknown id. */
  getCertificate(id: string): CertificateRecord {
    const record = this.certificates.get(id);
    if (!record) throw notFound(`Certificate ${id}`);
    return record;
  }

  updateCertificate(id: string, newStatus: string): CertificateRecord {
    const record = { ...this.getCertificate(id) };
    record.status = checkEnum(newStatus as CertificateStatus,
      ["ACTIVE", "INACTIVE", "REVOKED", "PENDING_TRANSFER", "REGISTER_INACTIVE", "PENDING_ACTIVATION"], "newStatus");
    record.lastModifiedDate = this.options.now();
    return this.certificates.put(id, record);
  }

  /** Raises CertificateStateException while ACTIVE, DeleteConflictException while attached. */
  deleteCertificate(id: string): void {
    const record = this.getCertificate(id);
    if (record.status === "ACTIVE") throw new AwsError("CertificateStateException", "An ACTIVE certificate cannot be deleted: deactivate it first");
    if (this.policiesOf(record.certificateArn).length > 0 || this.thingsOf(record.certificateArn).length > 0) {
      throw new AwsError("DeleteConflictException", "The certificate is attached to a policy or a thing: detach it first");
    }
    this.certificates.delete(id);
  }

  // ---- things -----------------------------------------------------------------------------

  /** Raises ResourceAlreadyExistsException when a thing of that name has other attributes. */
  createThing(input: { thingName: string; attributes?: Record<string, string>; thingTypeName?: string }): ThingRecord {
    checkName(input.thingName, "thingName", /^[a-zA-Z0-9:_-]{1,128}$/);
    checkAttributes(input.attributes ?? {}, input.thingTypeName !== undefined);
    if (input.thingTypeName !== undefined) this.usableThingType(input.thingTypeName);
    const existing = this.things.get(input.thingName);
    if (existing) {
      if (JSON.stringify(existing.attributes) === JSON.stringify(input.attributes ?? {})) return existing;
      throw new AwsError("ResourceAlreadyExistsException", `Thing ${input.thingName} already exists with different attributes`);
    }
    return this.things.put(input.thingName, {
      thingName: input.thingName,
      thingId: uuidFromHex(this.options.randomHex(16)),
      thingArn: this.arn(`thing/${input.thingName}`),
      thingTypeName: input.thingTypeName,
      attributes: input.attributes ?? {},
      version: 1,
      principals: [],
    });
  }

  getThing(name: string): ThingRecord {
    const record = this.things.get(name);
    if (!record) throw notFound(`Thing ${name}`);
    return record;
  }

  /** Replaces a thing's attributes and type (the version goes up). */
  updateThing(name: string, change: { attributes?: Record<string, string>; thingTypeName?: string }): ThingRecord {
    const thing = this.getThing(name);
    const typeName = change.thingTypeName ?? thing.thingTypeName;
    if (change.thingTypeName !== undefined) this.usableThingType(change.thingTypeName);
    if (change.attributes) checkAttributes(change.attributes, typeName !== undefined);
    return this.things.put(name, {
      ...thing, attributes: change.attributes ?? thing.attributes, thingTypeName: change.thingTypeName ?? thing.thingTypeName, version: thing.version + 1,
    });
  }

  deleteThing(name: string): void {
    this.getThing(name);
    this.things.delete(name);
    for (const group of this.thingGroups.list()) {
      if (!group.things.includes(name)) continue;
      this.thingGroups.put(group.thingGroupName, { ...group, things: withMember(group.things, name, false) });
      this.membershipChanged({ thingGroupName: group.thingGroupName, thingName: name, member: false });
    }
  }

  // ---- thing types -----------------------------------------------------------------------

  createThingType(name: string, properties: ThingTypeRecord["thingTypeProperties"] = {}): ThingTypeRecord {
    checkName(name, "thingTypeName", /^[a-zA-Z0-9:_-]{1,128}$/);
    if (this.thingTypes.has(name)) throw new AwsError("ResourceAlreadyExistsException", `Thing type ${name} already exists`);
    return this.thingTypes.put(name, {
      thingTypeName: name, thingTypeId: uuidFromHex(this.options.randomHex(16)), thingTypeArn: this.arn(`thingtype/${name}`),
      thingTypeProperties: properties, deprecated: false, creationDate: this.options.now(),
    });
  }

  getThingType(name: string): ThingTypeRecord {
    const record = this.thingTypes.get(name);
    if (!record) throw notFound(`Thing type ${name}`);
    return record;
  }

  deprecateThingType(name: string, undo: boolean): void {
    this.thingTypes.put(name, { ...this.getThingType(name), deprecated: !undo });
  }

  /** AWS deletes a thing type only after it has been deprecated (for 5 minutes; the stand-in does not wait). */
  deleteThingType(name: string): void {
    const type = this.getThingType(name);
    if (!type.deprecated) throw new AwsError("InvalidRequestException", `Thing type ${name} must be deprecated before it is deleted`);
    if (this.things.list().some((t) => t.thingTypeName === name)) throw new AwsError("InvalidRequestException", `Thing type ${name} is still used by things`);
    this.thingTypes.delete(name);
  }

  private usableThingType(name: string): void {
    if (this.getThingType(name).deprecated) throw new AwsError("InvalidRequestException", `Thing type ${name} is deprecated: no new things can use it`);
  }

  // ---- thing groups (static) -------------------------------------------------------------

  /** Returns the existing group when one of that name exists, as AWS does. */
  createThingGroup(name: string): ThingGroupRecord {
    checkName(name, "thingGroupName", /^[a-zA-Z0-9:_-]{1,128}$/);
    const existing = this.thingGroups.get(name);
    if (existing) return existing;
    return this.thingGroups.put(name, {
      thingGroupName: name, thingGroupId: uuidFromHex(this.options.randomHex(16)), thingGroupArn: this.arn(`thinggroup/${name}`),
      creationDate: this.options.now(), things: [],
    });
  }

  getThingGroup(name: string): ThingGroupRecord {
    const record = this.thingGroups.get(name);
    if (!record) throw notFound(`Thing group ${name}`);
    return record;
  }

  /** Raises ResourceNotFoundException for an unknown group or thing. */
  addThingToThingGroup(groupName: string, thingName: string): void {
    const group = this.getThingGroup(groupName);
    this.getThing(thingName);
    if (group.things.includes(thingName)) return;
    this.thingGroups.put(groupName, { ...group, things: withMember(group.things, thingName, true) });
    this.membershipChanged({ thingGroupName: groupName, thingName, member: true });
  }

  removeThingFromThingGroup(groupName: string, thingName: string): void {
    const group = this.getThingGroup(groupName);
    if (!group.things.includes(thingName)) return;
    this.thingGroups.put(groupName, { ...group, things: withMember(group.things, thingName, false) });
    this.membershipChanged({ thingGroupName: groupName, thingName, member: false });
  }

  /**
   * Calls `listener` after each change of a static group's members (a thing added or removed,
   * or deleted while a member): continuous jobs follow their target groups this way.
   * Returns a function that stops the calls.
   */
  onGroupMembership(listener: (change: GroupMembershipChange) => void): () => void {
    this.membershipListeners.add(listener);
    return () => this.membershipListeners.delete(listener);
  }

  private membershipChanged(change: GroupMembershipChange): void {
    for (const listener of this.membershipListeners) listener(change);
  }

  deleteThingGroup(name: string): void {
    const members = this.thingGroups.get(name)?.things ?? [];
    this.thingGroups.delete(name);
    for (const thingName of members) this.membershipChanged({ thingGroupName: name, thingName, member: false });
  }

  /** Names of the groups a thing belongs to. */
  groupsOf(thingName: string): string[] {
    return this.thingGroups.list().filter((g) => g.things.includes(thingName)).map((g) => g.thingGroupName);
  }

  /** Raises ResourceNotFoundException for an unknown thing or certificate. */
  attachThingPrincipal(thingName: string, principal: string): void {
    const thing = this.getThing(thingName);
    this.checkPrincipalExists(principal);
    this.things.put(thingName, { ...thing, principals: withMember(thing.principals, principal, true) });
  }

  /** Raises ResourceNotFoundException for an unknown thing. */
  detachThingPrincipal(thingName: string, principal: string): void {
    const thing = this.getThing(thingName);
    this.things.put(thingName, { ...thing, principals: withMember(thing.principals, principal, false) });
  }

  /** Names of the things a principal (certificate ARN) is attached to. */
  thingsOf(principal: string): string[] {
    return this.things.list().filter((t) => t.principals.includes(principal)).map((t) => t.thingName);
  }

  // ---- policies ---------------------------------------------------------------------------

  /** Raises ResourceAlreadyExistsException or MalformedPolicyException. */
  createPolicy(policyName: string, policyDocument: string): PolicyRecord {
    checkName(policyName, "policyName", /^[\w+=,.@-]{1,128}$/);
    if (this.policies.has(policyName)) throw new AwsError("ResourceAlreadyExistsException", `Policy ${policyName} already exists`);
    checkPolicyDocument(policyDocument);
    const now = this.options.now();
    return this.policies.put(policyName, {
      policyName,
      policyArn: this.arn(`policy/${policyName}`),
      policyDocument,
      defaultVersionId: "1",
      creationDate: now,
      lastModifiedDate: now,
      targets: [],
    });
  }

  /** The policy's versions, oldest first (version 1 alone for records made before versions were kept). */
  policyVersions(name: string): PolicyVersion[] {
    const p = this.getPolicy(name);
    return p.versions ?? [{ versionId: p.defaultVersionId, document: p.policyDocument, createDate: p.creationDate }];
  }

  /** AWS keeps at most five versions: VersionsLimitExceededException beyond. */
  createPolicyVersion(name: string, document: string, setAsDefault: boolean): PolicyVersion {
    const p = this.getPolicy(name);
    checkPolicyDocument(document);
    const versions = this.policyVersions(name);
    if (versions.length >= 5) throw new AwsError("VersionsLimitExceededException", `The policy ${name} already has the maximum number of versions (5)`);
    const nextId = p.nextVersionId ?? Math.max(...versions.map((v) => Number(v.versionId))) + 1;
    const version = { versionId: String(nextId), document, createDate: this.options.now() };
    this.policies.put(name, {
      ...p, versions: [...versions, version], nextVersionId: nextId + 1, lastModifiedDate: version.createDate,
      ...(setAsDefault ? { defaultVersionId: version.versionId, policyDocument: document } : {}),
    });
    return version;
  }

  policyVersion(name: string, versionId: string): PolicyVersion {
    const version = this.policyVersions(name).find((v) => v.versionId === versionId);
    if (!version) throw notFound(`Policy ${name} version ${versionId}`);
    return version;
  }

  setDefaultPolicyVersion(name: string, versionId: string): void {
    const version = this.policyVersion(name, versionId);
    this.policies.put(name, { ...this.getPolicy(name), versions: this.policyVersions(name), defaultVersionId: versionId, policyDocument: version.document, lastModifiedDate: this.options.now() });
  }

  deletePolicyVersion(name: string, versionId: string): void {
    const p = this.getPolicy(name);
    this.policyVersion(name, versionId);
    if (p.defaultVersionId === versionId) throw new AwsError("DeleteConflictException", `Version ${versionId} is the default version of policy ${name}: set another default first`);
    this.policies.put(name, { ...p, versions: this.policyVersions(name).filter((v) => v.versionId !== versionId) });
  }

  getPolicy(name: string): PolicyRecord {
    const record = this.policies.get(name);
    if (!record) throw notFound(`Policy ${name}`);
    return record;
  }

  deletePolicy(name: string): void {
    const record = this.getPolicy(name);
    if (record.targets.length > 0) throw new AwsError("DeleteConflictException", `Policy ${name} is attached: detach it first`);
    this.policies.delete(name);
  }

  /** Raises ResourceNotFoundException for an unknown policy or certificate. */
  attachPolicy(policyName: string, target: string): void {
    const policy = this.getPolicy(policyName);
    this.checkPrincipalExists(target);
    this.policies.put(policyName, { ...policy, targets: withMember(policy.targets, target, true) });
  }

  /** Raises ResourceNotFoundException for an unknown policy. */
  detachPolicy(policyName: string, target: string): void {
    const policy = this.getPolicy(policyName);
    this.policies.put(policyName, { ...policy, targets: withMember(policy.targets, target, false) });
  }

  /** Policies attached to a target (certificate ARN, Cognito identity, thing group...). */
  policiesOf(target: string): PolicyRecord[] {
    return this.policies.list().filter((p) => p.targets.includes(target));
  }

  /** Accepts certificate ARNs only when the certificate exists; other principals pass through. */
  private checkPrincipalExists(principal: string): void {
    const match = /:cert\/([0-9a-f]{64})$/.exec(principal);
    if (match && !this.certificates.has(match[1])) throw notFound(`Certificate ${match[1]}`);
  }
}

/** The IoT policies attached to a target, as policy evaluation takes them. */
export function attachedPolicies(registry: Pick<Registry, "policiesOf">, target: string): { documents: string[]; names: string[] } {
  const policies = registry.policiesOf(target);
  return { documents: policies.map((p) => p.policyDocument), names: policies.map((p) => p.policyName) };
}

function parsePem(pem: unknown, what: string): { der: Uint8Array; cert: X509Certificate } {
  // Control-plane bodies are JSON: a member may arrive as a number or an object.
  const der = typeof pem === "string" ? fromPem(pem)[0] : undefined;
  const cert = der && parseCertificate(der);
  if (!der || !cert) throw new AwsError("CertificateValidationException", `The ${what} is not a valid PEM X.509 certificate`);
  return { der, cert };
}

function checkEnum<T extends string>(value: T, allowed: T[], field: string): T {
  if (!allowed.includes(value)) throw new AwsError("InvalidRequestException", `${field} must be one of ${allowed.join(", ")}`);
  return value;
}

function checkName(value: string, field: string, pattern: RegExp): void {
  if (typeof value !== "string" || !pattern.test(value)) {
    throw new AwsError("InvalidRequestException", `${field} '${value}' does not match ${pattern.source}`);
  }
}

// AWS IoT quotas: a thing has at most 3 attributes without a thing type and 50 with one; names
// up to 128 characters of [a-zA-Z0-9_.,@/:#-], values up to 800 of [a-zA-Z0-9_.,@/:#=\[\]-]
// (empty allowed); a policy document has at most 2,048 characters, whitespace not counted.
const ATTRIBUTE_NAME = /^[a-zA-Z0-9_.,@/:#-]{1,128}$/;
const ATTRIBUTE_VALUE = /^[a-zA-Z0-9_.,@/:#=[\]-]{0,800}$/;

function checkAttributes(attributes: Record<string, unknown>, typed: boolean): void {
  const names = Object.keys(attributes);
  const limit = typed ? 50 : 3;
  if (names.length > limit) throw new AwsError("InvalidRequestException", `A thing ${typed ? "with" : "without"} a thing type has at most ${limit} attributes, not ${names.length}`);
  for (const name of names) {
    if (!ATTRIBUTE_NAME.test(name)) throw new AwsError("InvalidRequestException", `Attribute name '${name.slice(0, 130)}' must be 1-128 characters of [a-zA-Z0-9_.,@/:#-]`);
    const value = attributes[name];
    if (typeof value !== "string" || !ATTRIBUTE_VALUE.test(value)) {
      throw new AwsError("InvalidRequestException", `Attribute ${name}: the value must be a string of at most 800 characters of [a-zA-Z0-9_.,@/:#=[]-]`);
    }
  }
}

function checkPolicyDocument(document: string): void {
  if (typeof document !== "string") throw new AwsError("MalformedPolicyException", "The policy document must be a string of JSON");
  const length = document.replace(/\s/g, "").length;
  if (length > 2048) throw new AwsError("MalformedPolicyException", `The policy document has ${length} characters without whitespace; at most 2048 are allowed`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new AwsError("MalformedPolicyException", "The policy document is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as { Statement?: unknown }).Statement === undefined) {
    throw new AwsError("MalformedPolicyException", "The policy document has no Statement");
  }
}

/** The attachment list with `member` in it (once) or out of it: attach and detach share it. */
function withMember(list: string[], member: string, attached: boolean): string[] {
  if (!attached) return list.filter((m) => m !== member);
  return list.includes(member) ? list : [...list, member];
}

function uuidFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
