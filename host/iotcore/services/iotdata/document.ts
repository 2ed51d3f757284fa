// The Device Shadow service's document rules, pure: request checks, the desired/reported
// merge, delta, metadata, versions and the response documents, each as AWS documents it
// (docs/device-shadow.md cites every rule; the stand-in's own choices are marked there and
// below). No I/O and no clock: the caller passes the time (epoch seconds) in.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** What AWS sends as `code` in an error document, with the HTTP status of the REST API. */
export type ShadowErrorCode = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500;
export interface ShadowError { code: ShadowErrorCode; message: string }

// AWS's messages, word for word from its "Device Shadow error messages" page.
export const MESSAGES = {
  invalidJson: "Invalid JSON",
  missingState: "Missing required node: state",
  stateNotObject: "State node must be an object",
  desiredNotObject: "Desired node must be an object",
  reportedNotObject: "Reported node must be an object",
  invalidVersion: "Invalid version",
  invalidClientToken: "Invalid clientToken",
  tooDeep: "JSON contains too many levels of nesting; maximum is 6",
  invalidNode: "State contains an invalid node",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  thingNotFound: "Thing not found",
  versionConflict: "Version conflict",
  tooLarge: "The payload exceeds the maximum size allowed",
  encoding: "Unsupported documented encoding; supported encoding is UTF-8",
  tooManyRequests: "Too many requests",
  internal: "Internal service failure",
} as const;

/** "No shadow exists with name: '<name>'" (404), as the service words it for a missing shadow. */
export function noShadow(name: string): ShadowError {
  return { code: 404, message: `No shadow exists with name: '${name}'` };
}

export const LIMITS = {
  /** AWS: a shadow's state (desired + reported; metadata does not count) is at most 8 KB. */
  stateBytes: 8192,
  /** AWS: "maximum is 6" levels below desired/reported (the quotas page's 8 counts from the root). */
  stateDepth: 6,
  /** AWS: a client token longer than 64 bytes is an invalid clientToken. */
  clientTokenBytes: 64,
  /** AWS: shadow names are 1-64 characters of [a-zA-Z0-9:_-]; thing names up to 128. */
  shadowNameLength: 64,
  thingNameLength: 128,
} as const;

const NAME = /^[a-zA-Z0-9:_-]+$/;

/** True for a thing name AWS accepts. */
export function isThingName(name: string): boolean {
  return name.length > 0 && name.length <= LIMITS.thingNameLength && NAME.test(name);
}

/** True for a named shadow's name AWS accepts. */
export function isShadowName(name: string): boolean {
  return name.length > 0 && name.length <= LIMITS.shadowNameLength && NAME.test(name);
}

export interface ShadowState { desired?: JsonObject; reported?: JsonObject }
export interface ShadowMetadata { desired?: JsonObject; reported?: JsonObject }

/**
 * A stored shadow. A deleted one is kept as a tombstone: AWS continues the version of a shadow
 * re-created within 48 hours of its deletion, and starts again from 0 after that.
 */
export interface ShadowRecord {
  state: ShadowState;
  metadata: ShadowMetadata;
  version: number;
  /** epoch seconds of the last change */
  timestamp: number;
  /** epoch seconds of the deletion (a tombstone) */
  deletedAt?: number;
}

const VERSION_MEMORY_SECONDS = 48 * 3600;

/** The live shadow, or undefined for none or a tombstone. */
export function live(record: ShadowRecord | undefined): ShadowRecord | undefined {
  return record && record.deletedAt === undefined ? record : undefined;
}

/** A tombstone for a deleted shadow: no state, the version kept. */
export function tombstone(record: ShadowRecord, now: number): ShadowRecord {
  return { state: {}, metadata: {}, version: record.version, timestamp: now, deletedAt: now };
}

export interface UpdateRequest {
  desired?: JsonObject | null;
  reported?: JsonObject | null;
  version?: number;
  clientToken?: string;
}

export interface TokenRequest { clientToken?: string }

type Parsed<T> = { ok: true; value: T } | { ok: false; error: ShadowError; clientToken?: string };

const bad = (message: string, clientToken?: string): Parsed<never> => ({ ok: false, error: { code: 400, message }, clientToken });

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Decodes a payload as UTF-8 JSON: 415 for bytes that are not UTF-8, 400 "Invalid JSON". */
function decodeJson(payload: Uint8Array): Parsed<Json> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
  } catch {
    return { ok: false, error: { code: 415, message: MESSAGES.encoding } };
  }
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch {
    return bad(MESSAGES.invalidJson);
  }
}

function clientTokenOf(document: JsonObject): Parsed<string | undefined> {
  const token = document.clientToken;
  if (token === undefined) return { ok: true, value: undefined };
  if (typeof token !== "string" || Buffer.byteLength(token, "utf8") > LIMITS.clientTokenBytes) return bad(MESSAGES.invalidClientToken);
  return { ok: true, value: token };
}

/** A get or delete request: an empty payload, or a JSON object with an optional clientToken. */
export function parseTokenRequest(payload: Uint8Array): Parsed<TokenRequest> {
  if (payload.length === 0) return { ok: true, value: {} };
  const json = decodeJson(payload);
  if (!json.ok) return json;
  if (!isObject(json.value)) return bad(MESSAGES.invalidJson);
  const token = clientTokenOf(json.value);
  return token.ok ? { ok: true, value: { clientToken: token.value } } : token;
}

/** An update request, checked in the order AWS's error page lists its 400s. */
export function parseUpdate(payload: Uint8Array): Parsed<UpdateRequest> {
  const json = decodeJson(payload);
  if (!json.ok) return json;
  const document = json.value;
  if (!isObject(document)) return bad(MESSAGES.invalidJson);
  const token = clientTokenOf(document);
  if (!token.ok) return token;
  const clientToken = token.value;
  if (!("state" in document)) return bad(MESSAGES.missingState, clientToken);
  const state = document.state;
  if (!isObject(state)) return bad(MESSAGES.stateNotObject, clientToken);
  for (const key of Object.keys(state)) if (key !== "desired" && key !== "reported") return bad(MESSAGES.invalidNode, clientToken);
  const { desired, reported } = state;
  if (desired !== undefined && desired !== null && !isObject(desired)) return bad(MESSAGES.desiredNotObject, clientToken);
  if (reported !== undefined && reported !== null && !isObject(reported)) return bad(MESSAGES.reportedNotObject, clientToken);
  const version = document.version;
  if (version !== undefined && !(Number.isInteger(version) && (version as number) >= 0)) return bad(MESSAGES.invalidVersion, clientToken);
  if (depth(desired ?? null) > LIMITS.stateDepth || depth(reported ?? null) > LIMITS.stateDepth) return bad(MESSAGES.tooDeep, clientToken);
  if (stateBytes({ desired: desired ?? undefined, reported: reported ?? undefined }) > LIMITS.stateBytes) {
    return { ok: false, error: { code: 413, message: MESSAGES.tooLarge }, clientToken };
  }
  return { ok: true, value: { desired: desired as JsonObject | null | undefined, reported: reported as JsonObject | null | undefined, version: version as number | undefined, clientToken } };
}

/** Levels of objects and arrays in a value: a scalar is 0, `{}` is 1, `{"a":{}}` is 2. */
export function depth(value: Json): number {
  if (value === null || typeof value !== "object") return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depth(child));
  return deepest + 1;
}

/** Bytes of the state's desired and reported sections as compact JSON (metadata does not count). */
export function stateBytes(state: { desired?: Json; reported?: Json }): number {
  return Buffer.byteLength(JSON.stringify({ desired: state.desired, reported: state.reported }), "utf8");
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => Object.hasOwn(b, key) && deepEqual((a as JsonObject)[key], (b as JsonObject)[key]));
}

/**
 * Merges an update section into a stored one: objects merge key by key, `null` deletes a key,
 * anything else (arrays included) replaces. Objects left empty disappear. Returns a new object.
 */
export function merge(stored: JsonObject | undefined, update: JsonObject): JsonObject | undefined {
  const result: JsonObject = { ...stored };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete result[key];
    else if (isObject(value)) {
      const merged = merge(isObject(result[key]) ? result[key] as JsonObject : undefined, value);
      if (merged) result[key] = merged;
      else delete result[key];
    } else result[key] = value;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** The same shape as a section, every leaf replaced by `{timestamp}` (array elements each get one). */
export function metadataOf(section: Json, timestamp: number): Json {
  if (isObject(section)) {
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(section)) out[key] = metadataOf(value, timestamp);
    return out;
  }
  if (Array.isArray(section)) return section.map((value) => metadataOf(value, timestamp));
  return { timestamp };
}

/** Keys of `desired` whose value differs from `reported`, nested objects compared key by key. */
export function delta(desired: JsonObject | undefined, reported: JsonObject | undefined): JsonObject | undefined {
  if (!desired) return undefined;
  const out: JsonObject = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = reported?.[key];
    if (isObject(want) && isObject(have)) {
      const inner = delta(want, have);
      if (inner) out[key] = inner;
    } else if (have === undefined || !deepEqual(want, have)) out[key] = want;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The metadata of the keys a delta holds (taken from desired's metadata). */
function pick(metadata: JsonObject | undefined, shape: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(shape)) {
    const entry = metadata?.[key];
    if (entry === undefined) continue;
    out[key] = isObject(value) && isObject(entry) && !("timestamp" in entry) ? pick(entry, value) : entry;
  }
  return out;
}

/** Merges a metadata update like the state: deleted keys lose their metadata too. */
function mergeMetadata(stored: JsonObject | undefined, update: JsonObject, timestamp: number): JsonObject | undefined {
  const result: JsonObject = { ...stored };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete result[key];
    else if (isObject(value)) {
      const previous = result[key];
      const merged = mergeMetadata(isObject(previous) && !("timestamp" in previous) ? previous : undefined, value, timestamp);
      if (merged) result[key] = merged;
      else delete result[key];
    } else result[key] = metadataOf(value, timestamp);
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** Metadata of a request section as update/accepted shows it: deleted keys carry the time too. */
function requestMetadata(section: JsonObject | null, timestamp: number): Json {
  if (section === null) return { timestamp };
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(section)) out[key] = isObject(value) ? requestMetadata(value, timestamp) : metadataOf(value, timestamp);
  return out;
}

export interface UpdateResult {
  record: ShadowRecord;
  /** update/accepted (and the REST response) */
  accepted: JsonObject;
  /** update/delta, when the request set desired and desired still differs from reported */
  delta?: JsonObject;
  /** update/documents */
  documents: JsonObject;
}

const withToken = (document: JsonObject, clientToken: string | undefined): JsonObject =>
  clientToken === undefined ? document : { ...document, clientToken };

/**
 * Applies a checked update to the stored shadow (undefined or deleted: a new one). Fails with
 * 409 when the request names a version other than the current one, 413 when the merged state
 * exceeds 8 KB. `now` is epoch seconds.
 */
export function applyUpdate(stored: ShadowRecord | undefined, request: UpdateRequest, now: number): { ok: true; value: UpdateResult } | { ok: false; error: ShadowError } {
  const current = live(stored);
  const remembered = stored && (current || now - (stored.deletedAt ?? now) <= VERSION_MEMORY_SECONDS);
  const currentVersion = remembered ? stored.version : 0;
  // AWS processes a versioned update only if the version matches the latest one it has.
  if (request.version !== undefined && request.version !== currentVersion) return { ok: false, error: { code: 409, message: MESSAGES.versionConflict } };
  const state: ShadowState = { ...current?.state };
  const metadata: ShadowMetadata = { ...current?.metadata };
  for (const section of ["desired", "reported"] as const) {
    const update = request[section];
    if (update === undefined) continue;
    if (update === null) {
      delete state[section];
      delete metadata[section];
      continue;
    }
    const merged = merge(state[section], update);
    const mergedMeta = mergeMetadata(metadata[section], update, now);
    if (merged) state[section] = merged;
    else delete state[section];
    if (merged && mergedMeta) metadata[section] = mergedMeta;
    else delete metadata[section];
  }
  if (stateBytes(state) > LIMITS.stateBytes) return { ok: false, error: { code: 413, message: MESSAGES.tooLarge } };
  const record: ShadowRecord = { state, metadata, version: currentVersion + 1, timestamp: now };

  const requestState: JsonObject = {};
  const requestMeta: JsonObject = {};
  for (const section of ["desired", "reported"] as const) {
    const update = request[section];
    if (update === undefined) continue;
    requestState[section] = update;
    requestMeta[section] = requestMetadata(update, now);
  }
  const accepted = withToken({ state: requestState, metadata: requestMeta, version: record.version, timestamp: now }, request.clientToken);
  const difference = delta(state.desired, state.reported);
  const deltaDocument = request.desired && difference
    ? withToken({ version: record.version, timestamp: now, state: difference, metadata: pick(metadata.desired, difference) }, request.clientToken)
    : undefined;
  const documents = withToken({ previous: current ? snapshot(current) : null, current: snapshot(record), timestamp: now }, request.clientToken);
  return { ok: true, value: { record, accepted, delta: deltaDocument, documents } };
}

function snapshot(record: ShadowRecord): JsonObject {
  return { state: { ...record.state } as JsonObject, metadata: { ...record.metadata } as JsonObject, version: record.version };
}

/** get/accepted (and the REST response): state with delta, metadata, version, timestamp. */
export function getDocument(record: ShadowRecord, now: number, clientToken?: string): JsonObject {
  const state: JsonObject = { ...record.state } as JsonObject;
  const difference = delta(record.state.desired, record.state.reported);
  if (difference) state.delta = difference;
  return withToken({ state, metadata: { ...record.metadata } as JsonObject, version: record.version, timestamp: now }, clientToken);
}

/** delete/accepted (and the REST response): the deleted version and the time. */
export function deleteDocument(record: ShadowRecord, now: number, clientToken?: string): JsonObject {
  return withToken({ version: record.version, timestamp: now }, clientToken);
}

/** The error document of `/rejected` topics: code, message, timestamp, clientToken. */
export function errorDocument(error: ShadowError, now: number, clientToken?: string): JsonObject {
  return withToken({ code: error.code, message: error.message, timestamp: now }, clientToken);
}
