// Routing from the official service model (aws-sdk v2's `apis/iot-2015-05-28.min.json`):
// each operation's HTTP method, request URI and member locations (uri, querystring, header,
// JSON body, payload) are data, so supporting another operation means writing a handler only.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

interface MemberModel { location?: "uri" | "querystring" | "header" | "headers" | "statusCode"; locationName?: string; type?: string; shape?: string }
interface StructureModel { type?: string; members?: Record<string, MemberModel>; payload?: string; required?: string[] }
interface OperationModel { http: { method?: string; requestUri: string }; input?: StructureModel; output?: StructureModel }
export interface ServiceModel { metadata: Record<string, string>; operations: Record<string, OperationModel>; shapes: Record<string, StructureModel & { type?: string }> }

export interface Route {
  operation: string;
  method: string;
  pattern: RegExp;
  pathNames: string[];
  specificity: number;
  model: OperationModel;
}

/** Loads a service model from the installed aws-sdk v2 package (throws if it is missing). */
export function loadServiceModel(file: string): ServiceModel {
  const require = createRequire(import.meta.url);
  return JSON.parse(readFileSync(require.resolve(`aws-sdk/apis/${file}`), "utf8")) as ServiceModel;
}

/** One route per operation, most specific first (more literal characters win). */
export function buildRoutes(model: ServiceModel): Route[] {
  const routes = Object.entries(model.operations).map(([operation, op]): Route => {
    const [path] = op.http.requestUri.split("?");
    const pathNames: string[] = [];
    const source = path.split(/(\{[^}]+\})/).map((part) => {
      const variable = /^\{([^}+]+)(\+?)\}$/.exec(part);
      if (!variable) return part.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
      pathNames.push(variable[1]);
      return variable[2] ? "(.+)" : "([^/]+)";
    }).join("");
    return {
      operation, method: op.http.method ?? "POST", pattern: new RegExp(`^${source}/?$`), pathNames,
      specificity: path.replace(/\{[^}]+\}/g, "").length, model: op,
    };
  });
  return routes.sort((a, b) => b.specificity - a.specificity);
}

/** Returns the matching route and the decoded path variables, or undefined. */
export function matchRoute(routes: Route[], method: string, pathname: string): { route: Route; path: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    const path: Record<string, string> = {};
    route.pathNames.forEach((name, i) => { path[name] = decodeURIComponent(match[i + 1]); });
    return { route, path };
  }
  return undefined;
}

/**
 * Builds the operation input from path, query, headers and the JSON body as the model
 * places each member. Throws SyntaxError when the body is not JSON.
 */
export function decodeInput(
  model: ServiceModel, route: Route, path: Record<string, string>, query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>, body: Buffer | string,
): Record<string, unknown> {
  const shape = route.model.input;
  const input: Record<string, unknown> = {};
  // A blob payload (iot-data's shadow documents) reaches the handler as the bytes sent.
  const blob = shape?.payload !== undefined && isBlob(model, shape.members?.[shape.payload]);
  const text = blob ? "" : body.toString("utf8");
  const parsedBody = text.trim() === "" ? {} : JSON.parse(text);
  if (shape?.payload) {
    input[shape.payload] = blob ? Buffer.from(body) : parsedBody;
  }
  for (const [name, member] of Object.entries(shape?.members ?? {})) {
    const wireName = member.locationName ?? name;
    const type = member.type ?? (member.shape ? model.shapes[member.shape]?.type : undefined);
    switch (member.location) {
      case "uri":
        if (path[wireName] !== undefined) input[name] = path[wireName];
        break;
      case "querystring":
        if (query.has(wireName)) input[name] = convertScalar(type, query.getAll(wireName));
        break;
      case "header": {
        const value = headers[wireName.toLowerCase()];
        if (value !== undefined) input[name] = convertScalar(type, Array.isArray(value) ? value : [value]);
        break;
      }
      default:
        if (!shape?.payload && parsedBody[name] !== undefined) input[name] = parsedBody[name];
    }
  }
  return input;
}

/** True when a member is a blob (raw bytes). */
export function isBlob(model: ServiceModel, member: MemberModel | undefined): boolean {
  return (member?.type ?? (member?.shape ? model.shapes[member.shape]?.type : undefined)) === "blob";
}

function convertScalar(type: string | undefined, values: string[]): unknown {
  if (type === "list") return values;
  const value = values[0];
  if (type === "boolean") return value === "true";
  if (type === "integer" || type === "long") return Number(value);
  return value;
}

/** Names of required input members that are absent. */
export function missingRequired(route: Route, input: Record<string, unknown>): string[] {
  return (route.model.input?.required ?? []).filter((name) => input[name] === undefined || input[name] === "");
}
