// Route tables: how each operation a service implements arrives on the wire, generated from
// the service's public model by `npm run iotcore:routes` (scripts/generate-routes.ts) and
// committed as JSON next to the service, so a missing or changed route is a visible diff.
// This module matches requests against a table and decodes and type-checks their input.
import { AwsError } from "../registry/errors.js";

/** Where a member travels; absent = the JSON body (or the query form for awsQuery). */
export interface MemberSpec { target: string; in?: "uri" | "query" | "header" | "payload"; name?: string }
export type ShapeSpec =
  | { type: "structure"; members: Record<string, MemberSpec>; required?: string[] }
  | { type: "list"; member: string }
  | { type: "map"; key: string; value: string };
/** `outputBlob`: the output member whose bytes are the whole response body (iot-data's shadow documents). */
export interface OperationSpec { http?: { method: string; uri: string }; input?: string; outputBlob?: string }

export type Protocol = "restJson1" | "awsJson1_0" | "awsJson1_1" | "awsQuery";

export interface RouteTable {
  /** The model's service name (its SDK client), e.g. "IoT". */
  model: string;
  signingName: string;
  protocol: Protocol;
  /** awsJson: the X-Amz-Target prefix, e.g. "AWSCognitoIdentityService". */
  targetPrefix?: string;
  /** awsQuery: the API version, e.g. "2010-05-08". */
  version?: string;
  operations: Record<string, OperationSpec>;
  shapes: Record<string, ShapeSpec>;
}

export const PRIMITIVES = new Set(["string", "number", "boolean", "timestamp", "blob", "document"]);

export interface RestRoute { operation: string; method: string; pattern: RegExp; pathNames: string[]; specificity: number }

/** One route per REST operation, most specific first (more literal characters win). */
export function restRoutes(table: RouteTable): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const [operation, spec] of Object.entries(table.operations)) {
    if (!spec.http) continue;
    const [path] = spec.http.uri.split("?");
    const pathNames: string[] = [];
    const source = path!.split(/(\{[^}]+\})/).map((part) => {
      const variable = /^\{([^}+]+)(\+?)\}$/.exec(part);
      if (!variable) return part.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
      pathNames.push(variable[1]!);
      return variable[2] ? "(.+)" : "([^/]+)";
    }).join("");
    routes.push({ operation, method: spec.http.method, pattern: new RegExp(`^${source}/?$`), pathNames, specificity: path!.replace(/\{[^}]+\}/g, "").length });
  }
  return routes.sort((a, b) => b.specificity - a.specificity);
}

/** The matching route and its path variables (still percent-encoded), or undefined. */
export function matchRestRoute(routes: readonly RestRoute[], method: string, pathname: string): { route: RestRoute; path: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    const path = new Map<string, string>();
    route.pathNames.forEach((name, i) => path.set(name, match[i + 1]!));
    return { route, path: Object.fromEntries(path) };
  }
  return undefined;
}

/** Input members from the wire: where each member is, as the table says. */
export interface WireInput {
  path: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body (REST and awsJson), or the form fields (awsQuery). */
  body: unknown;
  /** The body's bytes, for a blob payload member. */
  raw?: Uint8Array;
}

const fail = (message: string): never => { throw new AwsError("InvalidRequestException", message); };

/**
 * Builds an operation's input from the request and checks it against the model: a member of
 * the wrong type, a malformed %-escape or a missing required member is InvalidRequestException
 * (AWS's SerializationException and ValidationException shapes are both 400s with a message).
 * The result is a null-prototype object: input names never reach Object.prototype.
 */
export function decodeInput(table: RouteTable, operation: string, wire: WireInput): Record<string, unknown> {
  const shapeName = table.operations[operation]?.input;
  const input: Record<string, unknown> = Object.create(null);
  if (!shapeName) return input;
  const shape = table.shapes[shapeName];
  if (shape?.type !== "structure") return input;
  const body = wire.body ?? {};
  if (typeof body !== "object" || Array.isArray(body)) fail(`${operation}: the request body must be a JSON object`);
  const bodyMembers = body as Record<string, unknown>;
  for (const [name, member] of Object.entries(shape.members)) {
    const wireName = member.name ?? name;
    let value: unknown;
    switch (member.in) {
      case "uri": {
        const raw = Object.hasOwn(wire.path, wireName) ? wire.path[wireName] : undefined;
        if (raw !== undefined) value = scalarFromText(table, member.target, [percentDecoded(raw, wireName)], wireName);
        break;
      }
      case "query":
        if (wire.query.has(wireName)) value = scalarFromText(table, member.target, wire.query.getAll(wireName), wireName);
        break;
      case "header": {
        const header = wire.headers[wireName.toLowerCase()];
        if (header !== undefined) value = scalarFromText(table, member.target, Array.isArray(header) ? header : [header], wireName);
        break;
      }
      case "payload":
        value = member.target === "blob" ? wire.raw : wire.body;
        break;
      default:
        if (Object.hasOwn(bodyMembers, name)) value = bodyMembers[name];
    }
    if (value === undefined || value === null) continue;
    checkType(table, member.target, value, name);
    input[name] = value;
  }
  const missing = (shape.required ?? []).filter((name) => input[name] === undefined || input[name] === "");
  if (missing.length > 0) fail(`${operation}: missing required ${missing.join(", ")}`);
  return input;
}

function percentDecoded(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return fail(`${name} '${raw}' has a malformed %-escape`);
  }
}

function scalarFromText(table: RouteTable, target: string, values: string[], name: string): unknown {
  const shape = table.shapes[target];
  if (shape?.type === "list") return values;
  const value = values[0]!;
  switch (target) {
    case "boolean":
      if (value !== "true" && value !== "false") fail(`${name} must be true or false, not '${value}'`);
      return value === "true";
    case "number": {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) fail(`${name} must be a number, not '${value}'`);
      return n;
    }
    default:
      return value;
  }
}

/** Raises InvalidRequestException naming the member when `value` is not of the model's type. */
export function checkType(table: RouteTable, target: string, value: unknown, path: string, depth = 0): void {
  if (depth > 32) fail(`${path}: nested too deeply`);
  const expect = (ok: boolean, what: string) => { if (!ok) fail(`${path} must be ${what}, not ${describe(value)}`); };
  switch (target) {
    case "string": return expect(typeof value === "string", "a string");
    case "blob": return expect(typeof value === "string" || value instanceof Uint8Array, "a string");
    case "boolean": return expect(typeof value === "boolean", "true or false");
    case "number": return expect(typeof value === "number" && Number.isFinite(value), "a number");
    case "timestamp": return expect(typeof value === "number" || typeof value === "string", "a timestamp");
    case "document": return;
  }
  const shape = table.shapes[target];
  if (!shape) return;
  if (shape.type === "list") {
    expect(Array.isArray(value), "a list");
    (value as unknown[]).forEach((item, i) => checkType(table, shape.member, item, `${path}[${i}]`, depth + 1));
    return;
  }
  expect(typeof value === "object" && value !== null && !Array.isArray(value), "an object");
  const record = value as Record<string, unknown>;
  if (shape.type === "map") {
    for (const key of Object.keys(record)) checkType(table, shape.value, record[key], `${path}.${key}`, depth + 1);
    return;
  }
  for (const [name, member] of Object.entries(shape.members)) {
    if (Object.hasOwn(record, name) && record[name] !== null) checkType(table, member.target, record[name], `${path}.${name}`, depth + 1);
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  const text = JSON.stringify(value);
  return typeof value === "object" ? "an object" : `${typeof value} ${text && text.length > 40 ? `${text.slice(0, 40)}...` : text}`;
}
