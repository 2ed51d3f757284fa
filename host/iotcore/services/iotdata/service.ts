// The Device Shadow service: classic and named shadows over the MQTT reserved topics
// (`$aws/things/<thing>/shadow[/name/<shadow>]/get|update|delete`, answered on `/accepted`
// and `/rejected`, with `update/delta` and `update/documents`) and the iot-data REST
// operations (GetThingShadow, UpdateThingShadow, DeleteThingShadow, ListNamedShadowsForThing).
// The broker has already applied the caller's policy (Publish on the request topic, Receive on
// each response) before a request reaches this service; responses go out as AWS's own
// publishes. Document rules: document.ts; persistence: store.ts.
import { AwsError } from "../../registry/errors.js";
import type { OperationHandler } from "../../control/server.js";
import {
  applyUpdate, deleteDocument, errorDocument, getDocument, isShadowName, isThingName, live, MESSAGES, noShadow,
  parseTokenRequest, parseUpdate, tombstone, type JsonObject, type ShadowError,
} from "./document.js";
import { CLASSIC, ShadowStore } from "./store.js";

export type ShadowOperation = "get" | "update" | "delete";

export interface ShadowServiceOptions {
  store: ShadowStore;
  /** epoch ms */
  now: () => number;
  log: (line: string) => void;
  /** publishes as AWS does on reserved topics */
  publish: (topic: string, payload: string) => Promise<void>;
}

export type ShadowOutcome = { ok: true; document: JsonObject } | { ok: false; error: ShadowError; clientToken?: string };

// AWS: more than 10 in-flight requests on one connection are refused with 429.
const IN_FLIGHT_LIMIT = 10;

const REQUEST_TOPIC = /^\$aws\/things\/([^/]+)\/shadow\/(?:name\/([^/]+)\/)?(get|update|delete)$/;

/** The request a topic names, or undefined for any other topic. */
export function parseRequestTopic(topic: string): { thing: string; shadow: string; operation: ShadowOperation } | undefined {
  const match = REQUEST_TOPIC.exec(topic);
  if (!match) return undefined;
  return { thing: match[1], shadow: match[2] ?? CLASSIC, operation: match[3] as ShadowOperation };
}

/** `$aws/things/<thing>/shadow` or `.../shadow/name/<shadow>`: the prefix of a shadow's topics. */
export function shadowTopic(thing: string, shadow: string): string {
  return `$aws/things/${thing}/shadow${shadow === CLASSIC ? "" : `/name/${shadow}`}`;
}

// The iot-data REST API's exception names for each status AWS's error page lists.
const REST_ERRORS: Record<number, string> = {
  400: "InvalidRequestException", 401: "UnauthorizedException", 403: "ForbiddenException", 404: "ResourceNotFoundException",
  409: "ConflictException", 413: "RequestEntityTooLargeException", 415: "UnsupportedDocumentEncodingException",
  429: "ThrottlingException", 500: "InternalFailureException",
};

export class ShadowService {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly options: ShadowServiceOptions) {}

  private seconds(): number {
    return Math.floor(this.options.now() / 1000);
  }

  /**
   * Runs one request on a shadow; never throws. A successful update also publishes
   * `update/delta` (when desired still differs from reported) and `update/documents`.
   */
  async request(thing: string, shadow: string, operation: ShadowOperation, payload: Uint8Array): Promise<ShadowOutcome> {
    if (!isThingName(thing)) return { ok: false, error: { code: 404, message: MESSAGES.thingNotFound } };
    if (shadow !== CLASSIC && !isShadowName(shadow)) return { ok: false, error: noShadow(shadow) };
    const { store } = this.options;
    const now = this.seconds();
    const shownName = shadow === CLASSIC ? thing : shadow;
    if (operation === "update") {
      const parsed = parseUpdate(payload);
      if (!parsed.ok) return parsed;
      const result = applyUpdate(store.get(thing, shadow), parsed.value, now);
      if (!result.ok) return { ok: false, error: result.error, clientToken: parsed.value.clientToken };
      await store.put(thing, shadow, result.value.record);
      const topic = shadowTopic(thing, shadow);
      if (result.value.delta) await this.options.publish(`${topic}/update/delta`, JSON.stringify(result.value.delta));
      await this.options.publish(`${topic}/update/documents`, JSON.stringify(result.value.documents));
      return { ok: true, document: result.value.accepted };
    }
    const parsed = parseTokenRequest(payload);
    if (!parsed.ok) return parsed;
    const { clientToken } = parsed.value;
    const record = live(store.get(thing, shadow));
    if (!record) return { ok: false, error: noShadow(shownName), clientToken };
    if (operation === "get") return { ok: true, document: getDocument(record, now, clientToken) };
    await store.put(thing, shadow, tombstone(record, now));
    return { ok: true, document: deleteDocument(record, now, clientToken) };
  }

  /**
   * Answers a message a client published, if it is a shadow request: the response goes to
   * `<request topic>/accepted` or `/rejected`. Returns false for other topics.
   */
  handleMessage(message: { topic: string; payload: Uint8Array; clientId?: string }): boolean {
    const target = parseRequestTopic(message.topic);
    if (!target) return false;
    const { thing, shadow, operation } = target;
    const connection = message.clientId ?? "";
    const count = (this.inFlight.get(connection) ?? 0) + 1;
    this.inFlight.set(connection, count);
    const answer = count > IN_FLIGHT_LIMIT
      ? Promise.resolve<ShadowOutcome>({ ok: false, error: { code: 429, message: MESSAGES.tooManyRequests }, clientToken: tokenOf(message.payload) })
      : this.request(thing, shadow, operation, message.payload).catch((error: Error): ShadowOutcome => {
        this.options.log(`shadow: ${message.topic}: internal failure: ${error.message}`);
        return { ok: false, error: { code: 500, message: MESSAGES.internal } };
      });
    void answer.then(async (outcome) => {
      const name = shadow === CLASSIC ? "classic shadow" : `shadow "${shadow}"`;
      if (outcome.ok) this.options.log(`shadow: ${thing} ${name} ${operation} accepted${"version" in outcome.document ? ` (version ${outcome.document.version})` : ""}`);
      else this.options.log(`shadow: ${thing} ${name} ${operation} rejected ${outcome.error.code}: ${outcome.error.message}`);
      const response = outcome.ok ? outcome.document : errorDocument(outcome.error, this.seconds(), outcome.clientToken);
      await this.options.publish(`${message.topic}/${outcome.ok ? "accepted" : "rejected"}`, JSON.stringify(response));
    }).catch((error: Error) => this.options.log(`shadow: ${message.topic}: response not published: ${error.message}`))
      .finally(() => {
        const left = (this.inFlight.get(connection) ?? 1) - 1;
        if (left > 0) this.inFlight.set(connection, left);
        else this.inFlight.delete(connection);
      });
    return true;
  }

  /** Deletes every shadow of a thing (the thing was deleted). */
  deleteThing(thing: string): Promise<void> {
    return this.options.store.deleteThing(thing);
  }

  /** The iot-data operations, keyed by their service-model names; failures are AwsErrors. */
  operations(): Record<string, OperationHandler> {
    const run = async (thing: string, shadow: string | undefined, operation: ShadowOperation, payload?: Uint8Array) => {
      const outcome = await this.request(thing, shadow ?? CLASSIC, operation, payload ?? new Uint8Array(0));
      if (!outcome.ok) throw new AwsError(REST_ERRORS[outcome.error.code], outcome.error.message);
      return { payload: Buffer.from(JSON.stringify(outcome.document)) };
    };
    return {
      GetThingShadow: (input) => run(input.thingName, input.shadowName, "get"),
      UpdateThingShadow: (input) => run(input.thingName, input.shadowName, "update", input.payload),
      DeleteThingShadow: (input) => run(input.thingName, input.shadowName, "delete"),
      ListNamedShadowsForThing: (input) => {
        const names = this.options.store.namedShadows(input.thingName);
        const start = typeof input.nextToken === "string" && /^\d+$/.test(input.nextToken) ? Number(input.nextToken) : 0;
        const size = Number.isInteger(input.pageSize) && input.pageSize > 0 ? Math.min(input.pageSize, 100) : 25;
        const results = names.slice(start, start + size);
        return { results, nextToken: start + size < names.length ? String(start + size) : undefined, timestamp: this.seconds() };
      },
    };
  }
}

/** The clientToken of a request, when it is readable, for echoing in a 429. */
function tokenOf(payload: Uint8Array): string | undefined {
  const parsed = parseTokenRequest(payload);
  return parsed.ok ? parsed.value.clientToken : undefined;
}
