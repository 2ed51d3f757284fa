// The job documents `npm run jobs` writes, in the shapes the firmware's jobs agent runs
// (docs/jobs.md, "Job documents this project's devices run"; the OTA document: docs/ota.md).
import { UsageError } from "./command-line.js";

export interface ConfigDocument { operation: "config"; settings: Record<string, unknown> }
export interface RebootDocument { operation: "reboot" }

/** The file fields of an `afr_ota` document, as `certs sign-image --json` prints them. */
export interface OtaFile {
  filepath: string;
  filesize: number;
  fileid: number;
  certfile: string;
  "sig-sha256-ecdsa": string;
}

export interface OtaDocument { afr_ota: { protocols: ["MQTT"]; streamname: string; files: [OtaFile] } }

/**
 * `--set key=value` pairs as settings: a value that reads as JSON (500, true, "x", {...}) is that
 * value, anything else is the text itself. Throws UsageError for a pair without `=` or a name
 * given twice.
 */
export function settingsFrom(pairs: readonly string[]): Record<string, unknown> {
  if (pairs.length === 0) throw new UsageError("--set is required: at least one setting, e.g. --set telemetryIntervalMs=500");
  const settings: Record<string, unknown> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new UsageError(`--set ${pair} is not name=value, e.g. --set telemetryIntervalMs=500`);
    const name = pair.slice(0, equals), text = pair.slice(equals + 1);
    if (Object.hasOwn(settings, name)) throw new UsageError(`--set ${name} is given twice`);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // plain text
    }
    settings[name] = value;
  }
  return settings;
}

export function configDocument(settings: Record<string, unknown>): ConfigDocument {
  return { operation: "config", settings };
}

export function rebootDocument(): RebootDocument {
  return { operation: "reboot" };
}

/** AWS's OTA job document for one file delivered over MQTT by `streamId` (file id 0). */
export function otaDocument(streamId: string, file: Omit<OtaFile, "fileid">): OtaDocument {
  return { afr_ota: { protocols: ["MQTT"], streamname: streamId, files: [{ ...file, fileid: 0 }] } };
}
