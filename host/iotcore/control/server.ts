// The control plane: one HTTP listener for every service's API. It finds the service and
// operation from the request (X-Amz-Target for AWS JSON services, the form's Action for query
// services such as IAM, method and path from the route table for REST services), verifies the
// SigV4 signature against the stand-in's access keys, decodes and type-checks the input against
// the route table, runs the service's handler and answers in the protocol's shapes, with an
// `x-amzn-RequestId` on every answer. Client input never causes a 500: a failure that is not an
// AwsError is the stand-in's own bug and is logged as such.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { verifySignedRequest, scopedService, type SignatureFailure } from "../auth/sigv4.js";
import { AwsError } from "../registry/errors.js";
import type { AccessKey, Service } from "../service.js";
import { decodeInput, matchRestRoute, restRoutes, type RestRoute, type RouteTable } from "./routes.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OperationInput = Record<string, any>;
export interface CallerInfo {
  requestId: string;
  /** The verified access key (absent for unsigned operations and with authentication off). */
  accessKeyId?: string;
  principal?: string;
  /** For operations that authenticate their callers themselves (Service.api.selfAuthenticating). */
  request?: IncomingMessage;
  body?: Buffer;
}
/** Returns the output object (JSON body) or nothing; raises AwsError for AWS-shaped errors. */
export type OperationHandler = (input: OperationInput, caller: CallerInfo) => unknown;

/** The largest request body the control plane reads (the stand-in's choice: AWS does not document one for these APIs). */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface ControlPlaneOptions {
  /** The region the stand-in serves: signatures scoped to another are refused. */
  region: string;
  now: () => number;
  log: (line: string) => void;
  /** Looks up an access key for SigV4 verification. */
  lookup(accessKeyId: string): AccessKey | undefined;
  /** false: accept unsigned and wrongly signed requests (announced at start). Default true. */
  authenticate?: boolean;
  maxBodyBytes?: number;
}

interface Endpoint {
  service: Service;
  table: RouteTable;
  operations: Record<string, OperationHandler>;
  unsigned: ReadonlySet<string>;
  selfAuthenticating: ReadonlySet<string>;
  routes: RestRoute[];
}

interface Call { endpoint: Endpoint; operation: string; path: Record<string, string> }

export class ControlPlane {
  private readonly endpoints: Endpoint[] = [];

  constructor(private readonly options: ControlPlaneOptions) {}

  /** Routes a service's API; every handler must have a route in its table. */
  addService(service: Service): void {
    const api = service.api;
    if (!api) return;
    const missing = Object.keys(api.operations).filter((name) => !Object.hasOwn(api.routes.operations, name));
    if (missing.length > 0) this.options.log(`control: ${service.name} implements ${missing.join(", ")} but its routes.json has no route for them: run npm run iotcore:routes`);
    this.endpoints.push({ service, table: api.routes, operations: api.operations, unsigned: new Set(api.unsigned ?? []), selfAuthenticating: new Set(api.selfAuthenticating ?? []), routes: restRoutes(api.routes) });
  }

  /** True when `request` is for one of `service`'s operations (for listeners shared with other handlers). */
  routes(service: Service, request: IncomingMessage): boolean {
    const endpoint = this.endpoints.find((e) => e.service === service);
    if (!endpoint) return false;
    const target = String(request.headers["x-amz-target"] ?? "");
    if (target !== "") return endpoint.table.targetPrefix !== undefined && target.startsWith(`${endpoint.table.targetPrefix}.`);
    let pathname: string;
    try {
      pathname = new URL(request.url ?? "/", "http://control").pathname;
    } catch {
      return false;
    }
    return matchRestRoute(endpoint.routes, request.method ?? "GET", pathname) !== undefined;
  }

  /** The node:http request listener. Never throws; every failure becomes an AWS error reply. */
  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    const requestId = randomUUID();
    response.setHeader("x-amzn-RequestId", requestId);
    const limit = this.options.maxBodyBytes ?? MAX_BODY_BYTES;
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > limit) return this.tooLarge(request, response, limit);
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return this.tooLarge(request, response, limit);
      chunks.push(chunk);
    });
    request.on("error", () => undefined);
    request.on("end", () => {
      if (size > limit) return;
      let call: Call | undefined;
      this.dispatch(request, Buffer.concat(chunks), requestId, (c) => { call = c; })
        .then((output) => answer(response, call?.endpoint.table, call?.operation, 200, output ?? {}, requestId))
        .catch((error: unknown) => {
          const aws = error instanceof AwsError ? error : new AwsError("InternalFailureException", "An internal failure of the stand-in (logged)");
          if (!(error instanceof AwsError)) this.options.log(`control: internal failure in ${call?.operation ?? `${request.method} ${request.url}`}: ${(error as Error)?.stack ?? String(error)}`);
          else this.options.log(`control: ${call?.operation ?? `${request.method} ${safe(request.url)}`} refused: ${aws.code}: ${aws.reason ?? aws.message}`);
          answerError(response, call?.endpoint.table ?? this.guessTable(request), aws, requestId);
        });
    });
  };

  private tooLarge(request: IncomingMessage, response: ServerResponse, limit: number): void {
    if (response.headersSent) return;
    this.options.log(`control: ${request.method} ${safe(request.url)} refused: body over ${limit} bytes`);
    answerError(response, this.guessTable(request), new AwsError("RequestEntityTooLargeException", `The request body is larger than ${limit} bytes`, 413), String(response.getHeader("x-amzn-RequestId")));
    response.once("finish", () => request.destroy());
  }

  private async dispatch(request: IncomingMessage, body: Buffer, requestId: string, found: (call: Call) => void): Promise<unknown> {
    let url: URL;
    try {
      url = new URL(request.url ?? "/", "http://control");
    } catch {
      throw new AwsError("InvalidRequestException", "the request target is not a valid URL");
    }
    const method = request.method ?? "GET";
    const form = isForm(request) ? new URLSearchParams(body.toString("utf8")) : undefined;
    const call = this.find(request, method, url, form);
    found(call);
    const { endpoint, operation } = call;
    const caller: CallerInfo = { requestId };
    if (endpoint.selfAuthenticating.has(operation)) {
      caller.request = request;
      caller.body = body;
    } else if (this.options.authenticate !== false && !endpoint.unsigned.has(operation)) {
      const rawPath = (request.url ?? "/").split("?")[0]!;
      const verdict = await verifySignedRequest(
        { method, rawPath, query: [...url.searchParams], headers: request.headers, body },
        { regions: signingRegions(endpoint, this.options.region), services: signingNames(endpoint.table), nowMs: this.options.now(), lookup: this.options.lookup },
      );
      if (!verdict.ok) throw signatureError(verdict.failure, endpoint.table);
      caller.accessKeyId = verdict.value.key.accessKeyId;
      caller.principal = verdict.value.key.principal;
    }
    const handler = Object.hasOwn(endpoint.operations, operation) ? endpoint.operations[operation] : undefined;
    if (!handler) throw new AwsError("UnknownOperationException", `${operation} is not implemented by this stand-in (see docs/iotcore-compatibility.md)`, endpoint.table.protocol === "restJson1" ? 404 : 400);
    const blobInput = hasBlobPayload(endpoint.table, operation);
    const input = decodeInput(endpoint.table, operation, {
      path: call.path, query: url.searchParams, headers: request.headers, raw: body,
      body: form ? formInput(endpoint.table, operation, form) : blobInput ? {} : parseJson(body, endpoint.table),
    });
    return handler(input, caller);
  }

  /** The service and operation a request is for, or UnknownOperationException. */
  private find(request: IncomingMessage, method: string, url: URL, form: URLSearchParams | undefined): Call {
    const target = String(request.headers["x-amz-target"] ?? "");
    if (target !== "") {
      const dot = target.lastIndexOf(".");
      const prefix = target.slice(0, dot), operation = target.slice(dot + 1);
      const endpoint = this.endpoints.find((e) => e.table.targetPrefix !== undefined && e.table.targetPrefix === prefix);
      if (!endpoint || dot < 0) throw new AwsError("UnknownOperationException", `no service here answers X-Amz-Target '${target}'`, 400);
      return { endpoint, operation, path: {} };
    }
    if (form?.has("Action")) {
      const signed = scopedService(request.headers);
      const endpoint = this.endpoints.find((e) => e.table.protocol === "awsQuery" && (signed === undefined || e.table.signingName === signed));
      if (!endpoint) throw new AwsError("UnknownOperationException", `no query service here answers Action '${form.get("Action")}'`, 400);
      return { endpoint, operation: form.get("Action")!, path: {} };
    }
    const signed = scopedService(request.headers);
    const candidates = this.endpoints.filter((e) => e.table.protocol === "restJson1");
    const mine = (e: Endpoint) => signed !== undefined && signingNames(e.table).includes(signed);
    const preferred = [...candidates.filter(mine), ...candidates.filter((e) => !mine(e))];
    for (const endpoint of preferred) {
      const matched = matchRestRoute(endpoint.routes, method, url.pathname);
      if (matched) return { endpoint, operation: matched.route.operation, path: matched.path };
    }
    throw new AwsError("UnknownOperationException", `no operation of this stand-in answers ${method} ${safe(url.pathname)} (see docs/iotcore-compatibility.md)`, 404);
  }

  private guessTable(request: IncomingMessage): RouteTable | undefined {
    if (request.headers["x-amz-target"]) return this.endpoints.find((e) => e.table.protocol.startsWith("awsJson"))?.table;
    if (isForm(request)) return this.endpoints.find((e) => e.table.protocol === "awsQuery")?.table;
    return undefined;
  }
}

/** The names a service's requests may be signed for: AWS IoT's older models (awscli v2 before 2.13...) say `execute-api`. */
function signingNames(table: RouteTable): string[] {
  return table.signingName === "iot" ? ["iot", "execute-api"] : [table.signingName];
}

/** Global services (IAM) are signed for us-east-1 whatever the region of the endpoint. */
function signingRegions(endpoint: Endpoint, region: string): string[] {
  return endpoint.table.signingName === "iam" ? [region, "us-east-1"] : [region];
}

function signatureError(failure: SignatureFailure, table: RouteTable): AwsError {
  // Query services (IAM) name the same failures differently.
  const queryNames: Partial<Record<SignatureFailure["code"], string>> = {
    UnrecognizedClientException: "InvalidClientTokenId", InvalidSignatureException: "SignatureDoesNotMatch",
    MissingAuthenticationTokenException: "MissingAuthenticationToken", IncompleteSignatureException: "IncompleteSignature", ExpiredTokenException: "ExpiredToken",
  };
  const code = table.protocol === "awsQuery" ? queryNames[failure.code] ?? failure.code : failure.code;
  return new AwsError(code, failure.message, failure.code === "IncompleteSignatureException" ? 400 : 403, failure.reason);
}

function hasBlobPayload(table: RouteTable, operation: string): boolean {
  const shape = table.shapes[table.operations[operation]?.input ?? ""];
  return shape?.type === "structure" && Object.values(shape.members).some((m) => m.in === "payload" && m.target === "blob");
}

function isForm(request: IncomingMessage): boolean {
  return request.method === "POST" && String(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
}

function parseJson(body: Buffer, table: RouteTable): unknown {
  const text = body.toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AwsError(table.protocol === "restJson1" ? "InvalidRequestException" : "SerializationException", "the request body is not valid JSON");
  }
}

/** awsQuery form fields as the input structure: scalars by name, lists as `Name.member.N`. */
function formInput(table: RouteTable, operation: string, form: URLSearchParams): Record<string, unknown> {
  const shape = table.shapes[table.operations[operation]?.input ?? ""];
  const input: Record<string, unknown> = Object.create(null);
  if (shape?.type !== "structure") return input;
  for (const [name, member] of Object.entries(shape.members)) {
    const target = table.shapes[member.target];
    if (target?.type === "list") {
      const items: string[] = [];
      for (let i = 1; form.has(`${name}.member.${i}`); i++) items.push(form.get(`${name}.member.${i}`)!);
      if (items.length > 0) input[name] = items;
    } else if (form.has(name)) {
      const text = form.get(name)!;
      input[name] = member.target === "number" ? Number(text) : member.target === "boolean" ? text === "true" : text;
    }
  }
  return input;
}

function answer(response: ServerResponse, table: RouteTable | undefined, operation: string | undefined, status: number, output: unknown, requestId: string): void {
  if (table?.protocol === "awsQuery") {
    const xml = `<${operation}Response xmlns="https://iam.amazonaws.com/doc/${table.version}/">${
      output && typeof output === "object" && Object.keys(output).length > 0 ? element(`${operation}Result`, output) : ""
    }<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
    return send(response, status, "text/xml", xml);
  }
  const type = table?.protocol.startsWith("awsJson") ? `application/x-amz-json-${table.protocol === "awsJson1_0" ? "1.0" : "1.1"}` : "application/json";
  const blob = operation && table?.operations[operation]?.outputBlob;
  const raw = blob ? (output as Record<string, unknown>)[blob] : undefined;
  if (raw instanceof Uint8Array || typeof raw === "string") return send(response, status, type, raw);
  send(response, status, type, JSON.stringify(output));
}

function answerError(response: ServerResponse, table: RouteTable | undefined, error: AwsError, requestId: string): void {
  if (response.headersSent) return;
  response.setHeader("x-amzn-ErrorType", error.code);
  if (table?.protocol === "awsQuery") {
    const type = error.status >= 500 ? "Receiver" : "Sender";
    return send(response, error.status, "text/xml",
      `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/${table.version}/"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
  }
  if (table?.protocol.startsWith("awsJson")) return send(response, error.status, "application/x-amz-json-1.1", JSON.stringify({ __type: error.code, message: error.message }));
  send(response, error.status, "application/json", JSON.stringify({ message: error.message }));
}

function send(response: ServerResponse, status: number, type: string, text: string | Uint8Array): void {
  response.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  response.end(text);
}

/** XML as AWS query services answer: members as elements, lists as `<member>` items. */
function element(name: string, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return `<${name}>${value.map((item) => element("member", item)).join("")}</${name}>`;
  if (typeof value === "object") return `<${name}>${Object.entries(value).map(([k, v]) => element(k, v)).join("")}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A request target for the log, without control characters. */
function safe(text: string | undefined): string {
  return JSON.stringify(String(text ?? "")).slice(1, -1).slice(0, 200);
}
