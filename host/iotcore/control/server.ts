// The control plane: an HTTP handler that routes by the service model, decodes the input,
// optionally verifies SigV4, calls the operation's handler and answers in AWS's shapes
// (errors: `x-amzn-ErrorType` header + JSON `{message}`).
import type { IncomingMessage, ServerResponse } from "node:http";
import { AwsError } from "../registry/errors.js";
import { verifyAuthorizationHeader, type SecretLookup } from "../sigv4/sigv4.js";
import { buildRoutes, decodeInput, isBlob, matchRoute, missingRequired, type Route, type ServiceModel } from "./model.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OperationInput = Record<string, any>;
/** Who called; operations that authenticate their callers themselves get the request and body instead. */
export interface CallerInfo { accessKeyId?: string; request?: IncomingMessage; body?: Buffer }
/** Returns the output object (JSON body) or nothing; raises AwsError for AWS-shaped errors. */
export type OperationHandler = (input: OperationInput, caller: CallerInfo) => unknown;

export interface ControlPlaneOptions {
  model: ServiceModel;
  now: () => number;
  log: (line: string) => void;
  /** When set, requests must carry a SigV4 signature made with one of these secrets. */
  verifySignatures?: SecretLookup;
}

export class ControlPlane {
  private readonly routes: Route[];
  private readonly handlers = new Map<string, OperationHandler>();
  private readonly selfAuthenticating = new Set<string>();

  constructor(private readonly options: ControlPlaneOptions) {
    this.routes = buildRoutes(options.model);
  }

  /** Adds or replaces the handler of a model operation (e.g. "CreateAuthorizer"). */
  register(operation: string, handler: OperationHandler): void {
    if (!this.options.model.operations[operation]) throw new Error(`operation ${operation} is not in the service model`);
    this.handlers.set(operation, handler);
  }

  /**
   * Adds the handler of an operation whose callers are not IAM principals (iot-data Publish:
   * devices with certificates, custom authorizers or SigV4): no signature check here; the
   * handler receives the request and its body in `caller` and authenticates itself.
   */
  registerSelfAuthenticating(operation: string, handler: OperationHandler): void {
    this.register(operation, handler);
    this.selfAuthenticating.add(operation);
  }

  registerAll(handlers: Record<string, OperationHandler>): void {
    for (const [operation, handler] of Object.entries(handlers)) this.register(operation, handler);
  }

  /** The node:http request listener. Never throws; every failure becomes an AWS error reply. */
  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      this.dispatch(request, Buffer.concat(chunks))
        .then(({ output, blobPayload }) => {
          // A blob output payload (iot-data's shadow documents) is the whole body, sent as is.
          const raw = blobPayload === undefined ? undefined : (output as Record<string, unknown> | undefined)?.[blobPayload];
          if (raw instanceof Uint8Array || typeof raw === "string") replyRaw(response, 200, raw);
          else reply(response, 200, output ?? {});
        })
        .catch((error: unknown) => {
          const aws = error instanceof AwsError ? error : new AwsError("InternalFailureException", String((error as Error)?.message ?? error));
          if (aws.code === "InternalFailureException") this.options.log(`control: internal failure: ${aws.message}`);
          response.setHeader("x-amzn-ErrorType", aws.code);
          reply(response, aws.status, { message: aws.message });
        });
    });
  };

  private async dispatch(request: IncomingMessage, body: Buffer): Promise<{ output: unknown; blobPayload?: string }> {
    const url = new URL(request.url ?? "/", "http://control");
    const method = request.method ?? "GET";
    const matched = matchRoute(this.routes, method, url.pathname);
    const caller = matched && this.selfAuthenticating.has(matched.route.operation) ? { request, body } : this.authenticate(request, url, body);
    if (!matched) throw new AwsError("UnknownOperationException", `no operation for ${method} ${url.pathname}`);
    const { route, path } = matched;
    const handler = this.handlers.get(route.operation);
    if (!handler) throw new AwsError("UnknownOperationException", `${route.operation} is not implemented by this IoT Core stand-in`);
    let input: OperationInput;
    try {
      input = decodeInput(this.options.model, route, path, url.searchParams, request.headers, body);
    } catch {
      throw new AwsError("InvalidRequestException", "the request body is not valid JSON");
    }
    const missing = missingRequired(route, input);
    if (missing.length > 0) throw new AwsError("InvalidRequestException", `${route.operation}: missing required ${missing.join(", ")}`);
    const out = route.model.output;
    const blobPayload = out?.payload !== undefined && isBlob(this.options.model, out.members?.[out.payload]) ? out.payload : undefined;
    return { output: await handler(input, caller), blobPayload };
  }

  private authenticate(request: IncomingMessage, url: URL, body: Buffer): CallerInfo {
    const authorization = String(request.headers.authorization ?? "");
    const accessKeyId = /Credential=([^/]+)\//.exec(authorization)?.[1];
    if (!this.options.verifySignatures) return { accessKeyId };
    const rawPath = (request.url ?? "/").split("?")[0];
    const verdict = verifyAuthorizationHeader(
      { method: request.method ?? "GET", rawPath, query: [...url.searchParams], headers: request.headers, body },
      this.options.verifySignatures, this.options.now());
    if (!verdict.ok) {
      this.options.log(`control: signature refused: ${verdict.reason}`);
      throw new AwsError(verdict.reason.startsWith("unknown access key") ? "UnauthorizedException" : "InvalidSignatureException", verdict.reason);
    }
    return { accessKeyId: verdict.accessKeyId };
  }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  replyRaw(response, status, JSON.stringify(body));
}

function replyRaw(response: ServerResponse, status: number, body: Uint8Array | string): void {
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  response.end(body);
}
