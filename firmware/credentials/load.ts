// Loads the device's credentials from the first source that holds an image, in a configured
// order (flash partition, Preference, resource), and checks them before any network use
// (validity.ts: presence and dates; their structure was checked when the image was written).
// Sources are passed in: the Moddable binding wraps Flash/Preference/Resource, host runtimes
// wrap files. A source that holds nothing is skipped; a source that holds a bad image stops
// the search with a Failure (a corrupt partition must not silently fall back to dev keys).

import { fail, ok, type Failure, type Result } from "../platform/failure.js";
import type { Platform, Storage } from "../platform/seam.js";
import { containerLength, CORRUPT, decodeContainer, isBlank, TRUNCATED } from "./container.js";
import { HEADER_SIZE, PREFERENCE_PREFIX, preferenceKey, RESOURCE_NAME } from "./format.js";
import { checkDates, checkPresence } from "./validity.js";

export type CredentialSource = "partition" | "preference" | "resource";

/** A data partition (Moddable `Flash`): reads return undefined when out of range. */
export interface PartitionReader {
  name: string;
  byteLength: number;
  read(offset: number, length: number): Uint8Array | undefined;
}

/** A read-only resource lookup (Moddable `Resource`); undefined when absent. */
export type ResourceLookup = (name: string) => Uint8Array | undefined;

export interface CredentialSources {
  partition?: PartitionReader;
  resource?: ResourceLookup;
}

export interface LoadOptions {
  /** Default: partition, preference, resource. */
  order?: CredentialSource[];
  /** Default true. False allows images without key and chain (custom-auth and SigV4 modes). */
  requireClientCertificate?: boolean;
}

/**
 * Validated credentials. `clientKey` is not enumerable: JSON.stringify, spreads and inspection
 * of this object leave it out, so it cannot slip into a log line or a payload by accident.
 * Without a client certificate (allowed by `requireClientCertificate: false`) `clientKey` is
 * empty and `certificateChain` is [].
 */
export interface Credentials {
  readonly clientKey: Uint8Array;
  certificateChain: Uint8Array[];
  trustedCa: Uint8Array[];
  settings: Record<string, string>;
  source: CredentialSource;
  /** Code-signing certificates: [the name an OTA job's `certfile` gives, DER] (checked when used). */
  codeSigners?: [string, Uint8Array][];
}

/** A source's name in messages, the fix for what it holds, and its reading (undefined: it holds nothing). */
type SourceReading = [label: string, fix: string, read: () => Result<Uint8Array | undefined>];

/**
 * The first source's validated credentials. Failure codes: "credentials-not-found",
 * "credentials-source-error", every container code (credentials-not-an-image,
 * -unsupported-version, -truncated, -checksum-mismatch, -corrupt) and every code of validity.ts
 * (-incomplete, -no-trusted-ca, -not-yet-valid, -expired; "clock-unset" is retryable). The
 * structure of the certificates and key was checked when the image was written (validate.ts).
 * Messages begin with the source.
 */
export function loadCredentials(
  platform: Pick<Platform, "clock" | "log" | "storage">,
  sources: CredentialSources,
  options: LoadOptions = {},
): Result<Credentials> {
  const tried: string[] = [];
  for (const kind of options.order ?? (Object.keys(SOURCES) as CredentialSource[])) {
    const reading = SOURCES[kind](platform.storage, sources);
    if (!reading) continue;
    const [label, fix, read] = reading;
    tried.push(label);
    let bytes: Result<Uint8Array | undefined>;
    try {
      bytes = read();
    } catch (e) {
      bytes = fail("credentials-source-error", `unreadable (${String(e).slice(0, 80)}); check it exists`);
    }
    // A source's own reading problem (a bad header, a missing part) gets the same prefix and fix as a bad image.
    if (!bytes.ok) return located(label, bytes.failure, fix);
    if (bytes.value) return credentialsFromContainer(platform, bytes.value, label, fix, kind, options.requireClientCertificate ?? true);
    platform.log(`credentials: nothing in ${label}`);
  }
  return fail("credentials-not-found", `no credentials in ${tried.join(", ") || "any source"}; write them with \`npm run certs -- image\` (or preference, resources)`);
}

/**
 * Credentials from container bytes (a source's image, or the device's own store): decoded,
 * checked, validated and copied. Failures as loadCredentials, prefixed with `label`; a damaged
 * image's also end with `fix`.
 */
export function credentialsFromContainer(
  platform: Pick<Platform, "clock" | "log">, bytes: Uint8Array, label: string, fix: string, source: CredentialSource, requireClientCertificate: boolean,
): Result<Credentials> {
  const contents = decodeContainer(bytes);
  if (!contents.ok) return located(label, contents.failure, fix);
  const { key, chain, trustedCa, settings, validity, codeSigners } = contents.value;
  const refused = checkPresence(key, chain.length, trustedCa.length, requireClientCertificate) ?? checkDates(validity, chain.length, platform.clock);
  if (refused) return located(label, refused);
  platform.log(`credentials: from ${label}: ${chain.length} chain, ${trustedCa.length} CA, settings ${Object.keys(settings).join(", ")}`);
  // Copies, made once: the result does not pin the whole image buffer (settings, validity, entry
  // headers), and the TLS binding gets whole buffers, which it passes on without a copy per connect.
  return ok(Object.defineProperty({ certificateChain: chain.map(copy), trustedCa: trustedCa.map(copy), settings, source, codeSigners }, "clientKey", { value: copy(key ?? new Uint8Array(0)) }) as Credentials);
}

/** `failure` with its message prefixed by the source's label and followed by `fix`, if any. */
function located(label: string, failure: Failure, fix?: string): Result<never> {
  return fail(failure.code, `${label}: ${failure.message}${fix ? "; " + fix : ""}`, failure.retryable);
}

function copy(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

const certs = (command: string) => ` with \`npm run certs -- ${command}\``;

/** Each source's reading, in the default order; undefined where the platform has no such source. */
const SOURCES: Record<CredentialSource, (storage: Storage, sources: CredentialSources) => SourceReading | undefined> = {
  partition: (_, { partition }) => partition && ["credentials partition '" + partition.name + "'", "write a new image" + certs("image") + " and flash it", () => readPartition(partition)],
  preference: (storage) => [`credentials in Preference '${PREFERENCE_PREFIX}.*'`, "rewrite them" + certs("preference"), () => readPreference(storage, PREFERENCE_PREFIX)],
  resource: (_, { resource }) => resource && [`credentials resource '${RESOURCE_NAME}'`, "regenerate it" + certs("resources") + " and rebuild", () => ok(resource(RESOURCE_NAME))],
};

/** The image in `partition`: the length its header announces, or nothing when the header is erased. */
function readPartition(partition: PartitionReader): Result<Uint8Array | undefined> {
  const header = partition.read(0, HEADER_SIZE);
  if (!header || isBlank(header)) return ok(undefined);
  const length = containerLength(header, partition.byteLength);
  return length.ok ? ok(partition.read(0, length.value)) : length;
}

/** The container split over Preference entries `<prefix>.n`, `<prefix>.<i>`; undefined when `<prefix>.n` is absent. */
export function readPreference(storage: Storage, prefix: string): Result<Uint8Array | undefined> {
  const countKey = preferenceKey(prefix, "n");
  const countValue = storage.get(countKey);
  if (countValue === undefined) return ok(undefined);
  const count = Number(countValue);
  if (!(count > 0)) return fail(CORRUPT, `'${countKey}' is not a part count`);
  let bytes = new Uint8Array(0);
  for (let i = 0; i < count; i++) {
    const key = preferenceKey(prefix, i);
    const part = storage.get(key);
    if (!(part instanceof Uint8Array)) return fail(TRUNCATED, `part '${key}' is missing`);
    const joined = new Uint8Array(bytes.length + part.length);
    joined.set(bytes);
    joined.set(part, bytes.length);
    bytes = joined;
  }
  return ok(bytes);
}
