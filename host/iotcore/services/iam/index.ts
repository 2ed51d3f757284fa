// IAM as far as the stand-in's devices and identity pools need it (query protocol, XML
// answers): roles with inline policies (what a Cognito identity pool's unauthenticated
// identities may do), users with inline policies and access keys (SigV4 devices, other tools).
// The stand-in simplifies: it does not evaluate IAM policies for control-plane calls (every
// known key may call every operation); it evaluates them, as AWS does, for the data-plane
// connections and publishes those keys make (iot:Connect, iot:Publish, ...).
import { randomBytes } from "node:crypto";
import { newAccessKeyPair } from "../../auth/access-keys.js";
import type { RouteTable } from "../../control/routes.js";
import type { OperationInput } from "../../control/server.js";
import { AwsError } from "../../registry/errors.js";
import type { CoreContext, Service } from "../../service.js";
import routes from "./routes.json" with { type: "json" };

interface Principal { name: string; id: string; arn: string; path: string; createdAt: number; policies: Record<string, string> }
interface RoleRecord extends Principal { assumeRolePolicyDocument: string; description?: string }
type UserRecord = Principal;

export interface IamService extends Service {
  /** The inline policies of a role, by ARN; undefined when there is no such role. */
  rolePolicies(roleArn: string): string[] | undefined;
}

const NAME = /^[\w+=,.@-]{1,64}$/;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const fail = (code: string, message: string, status: number): never => { throw new AwsError(code, message, status); };
const noSuch = (what: string) => fail("NoSuchEntity", `The ${what} cannot be found.`, 404);

export function iamService(core: CoreContext): IamService {
  const roles = core.store<RoleRecord>("roles");
  const users = core.store<UserRecord>("users");
  const arnOf = (kind: "role" | "user", path: string, name: string) => `arn:aws:iam::${core.accountId}:${kind}${path}${name}`;
  const id = (prefix: string) => `${prefix}${randomBytes(10).toString("hex").toUpperCase().slice(0, 17)}`;
  const name = (value: unknown, field: string, pattern = NAME): string =>
    typeof value === "string" && pattern.test(value) ? value : fail("ValidationError", `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`, 400);
  const document = (value: unknown): string => {
    try {
      const parsed = JSON.parse(String(value)) as { Statement?: unknown };
      if (typeof parsed === "object" && parsed !== null && parsed.Statement !== undefined) return String(value);
    } catch { /* answered below */ }
    return fail("MalformedPolicyDocument", "The policy document is not valid JSON with a Statement.", 400);
  };
  const role = (roleName: unknown) => roles.get(String(roleName)) ?? noSuch(`role with name ${String(roleName)}`);
  const user = (userName: unknown) => users.get(String(userName)) ?? noSuch(`user with name ${String(userName)}`);
  const describe = (p: Principal, extra: Record<string, unknown>) => ({ Path: p.path, ...extra, Arn: p.arn, CreateDate: new Date(p.createdAt).toISOString() });
  const describeRole = (r: RoleRecord) => describe(r, { RoleName: r.name, RoleId: r.id, AssumeRolePolicyDocument: encodeURIComponent(r.assumeRolePolicyDocument), ...(r.description ? { Description: r.description } : {}) });
  const describeUser = (u: UserRecord) => describe(u, { UserName: u.name, UserId: u.id });
  /** A user's keys carry the user's current inline policies (refreshed whenever they change). */
  const refreshKeys = (u: UserRecord) => {
    for (const key of core.accessKeys.list()) if (key.principal === u.arn) core.accessKeys.add({ ...key, policyDocuments: Object.values(u.policies) });
  };

  const operations = {
    CreateRole: (input: OperationInput) => {
      const roleName = name(input.RoleName, "roleName");
      if (roles.has(roleName)) fail("EntityAlreadyExists", `Role with name ${roleName} already exists.`, 409);
      const path = String(input.Path ?? "/");
      const record: RoleRecord = {
        name: roleName, id: id("AROA"), arn: arnOf("role", path, roleName), path, createdAt: core.now(), policies: {},
        assumeRolePolicyDocument: document(input.AssumeRolePolicyDocument), ...(input.Description ? { description: String(input.Description) } : {}),
      };
      roles.put(roleName, record);
      core.log(`iam: role ${record.arn} created`);
      return { Role: describeRole(record) };
    },
    GetRole: (input: OperationInput) => ({ Role: describeRole(role(input.RoleName)) }),
    DeleteRole: (input: OperationInput) => {
      const r = role(input.RoleName);
      if (Object.keys(r.policies).length > 0) fail("DeleteConflict", "Cannot delete entity, must delete policies first.", 409);
      roles.delete(r.name);
    },
    PutRolePolicy: (input: OperationInput) => {
      const r = role(input.RoleName);
      roles.put(r.name, { ...r, policies: { ...r.policies, [name(input.PolicyName, "policyName", POLICY_NAME)]: document(input.PolicyDocument) } });
      core.log(`iam: role ${r.name}: inline policy ${String(input.PolicyName)} set`);
    },
    GetRolePolicy: (input: OperationInput) => {
      const r = role(input.RoleName);
      const policy = Object.hasOwn(r.policies, String(input.PolicyName)) ? r.policies[String(input.PolicyName)] : undefined;
      if (policy === undefined) noSuch(`role policy with name ${String(input.PolicyName)}`);
      return { RoleName: r.name, PolicyName: String(input.PolicyName), PolicyDocument: encodeURIComponent(policy!) };
    },
    ListRolePolicies: (input: OperationInput) => ({ PolicyNames: Object.keys(role(input.RoleName).policies), IsTruncated: false }),
    DeleteRolePolicy: (input: OperationInput) => {
      const r = role(input.RoleName);
      if (!Object.hasOwn(r.policies, String(input.PolicyName))) noSuch(`role policy with name ${String(input.PolicyName)}`);
      const { [String(input.PolicyName)]: _removed, ...rest } = r.policies;
      roles.put(r.name, { ...r, policies: rest });
    },
    CreateUser: (input: OperationInput) => {
      const userName = name(input.UserName, "userName");
      if (users.has(userName)) fail("EntityAlreadyExists", `User with name ${userName} already exists.`, 409);
      const path = String(input.Path ?? "/");
      const record: UserRecord = { name: userName, id: id("AIDA"), arn: arnOf("user", path, userName), path, createdAt: core.now(), policies: {} };
      users.put(userName, record);
      return { User: describeUser(record) };
    },
    GetUser: (input: OperationInput) => ({ User: describeUser(user(input.UserName)) }),
    DeleteUser: (input: OperationInput) => {
      const u = user(input.UserName);
      if (Object.keys(u.policies).length > 0 || core.accessKeys.list().some((k) => k.principal === u.arn)) {
        fail("DeleteConflict", "Cannot delete entity, must delete policies and access keys first.", 409);
      }
      users.delete(u.name);
    },
    PutUserPolicy: (input: OperationInput) => {
      const u = user(input.UserName);
      const updated = { ...u, policies: { ...u.policies, [name(input.PolicyName, "policyName", POLICY_NAME)]: document(input.PolicyDocument) } };
      users.put(u.name, updated);
      refreshKeys(updated);
    },
    DeleteUserPolicy: (input: OperationInput) => {
      const u = user(input.UserName);
      if (!Object.hasOwn(u.policies, String(input.PolicyName))) noSuch(`user policy with name ${String(input.PolicyName)}`);
      const { [String(input.PolicyName)]: _removed, ...rest } = u.policies;
      const updated = { ...u, policies: rest };
      users.put(u.name, updated);
      refreshKeys(updated);
    },
    CreateAccessKey: (input: OperationInput) => {
      const u = user(input.UserName);
      if (core.accessKeys.list().filter((k) => k.principal === u.arn).length >= 2) fail("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409);
      const key = core.accessKeys.add({ ...newAccessKeyPair(), principal: u.arn, policyDocuments: Object.values(u.policies) });
      core.log(`iam: access key ${key.accessKeyId} for ${u.arn}`);
      return { AccessKey: { UserName: u.name, AccessKeyId: key.accessKeyId, Status: "Active", SecretAccessKey: key.secretAccessKey, CreateDate: new Date(core.now()).toISOString() } };
    },
    ListAccessKeys: (input: OperationInput) => {
      const u = user(input.UserName);
      return { AccessKeyMetadata: core.accessKeys.list().filter((k) => k.principal === u.arn).map((k) => ({ UserName: u.name, AccessKeyId: k.accessKeyId, Status: "Active" })), IsTruncated: false };
    },
    DeleteAccessKey: (input: OperationInput) => {
      const key = core.accessKeys.lookup(String(input.AccessKeyId));
      if (!key || (input.UserName !== undefined && key.principal !== user(input.UserName).arn)) noSuch(`Access Key with id ${String(input.AccessKeyId)}`);
      core.accessKeys.remove(key!.accessKeyId);
    },
  };

  return {
    name: "iam", api: { routes: routes as RouteTable, operations }, persists: [roles, users],
    rolePolicies: (roleArn) => {
      const r = roles.list().find((candidate) => candidate.arn === roleArn);
      return r ? Object.values(r.policies) : undefined;
    },
  };
}
