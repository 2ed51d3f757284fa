// Streams for MQTT-based file delivery: CreateStream, DescribeStream, ListStreams, UpdateStream
// and DeleteStream on the control plane, and the device topics
// `$aws/things/<thing>/streams/<streamId>/describe|get/json` answered on `description/json`,
// `data/json` and `rejected/json`, and the same in CBOR on `.../cbor` (rules: delivery.ts;
// facts: docs/jobs.md).
//
// The stand-in has no S3: a file's `s3Location` names a file under the state directory,
// `<state>/s3/<bucket>/<key>` (the version is kept, not checked), read when a device asks for
// blocks (docs/iotcore-compatibility.md).
import { open, stat } from "node:fs/promises";
import { existsSync, statSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import type { OperationHandler, OperationInput } from "../../control/server.js";
import type { Collection } from "../../registry/collection.js";
import { AwsError, notFound } from "../../registry/errors.js";
import { page } from "../iot/registry-operations.js";
import {
  blockAnswer, clientTokenOf, describeAnswer, encodeAnswer, errorAnswer, parseCborRequest, parseJsonRequest, planGetStream,
  type DeliveryError, type Format, type StreamView,
} from "./delivery.js";

export interface StreamFile { fileId: number; s3Location: { bucket: string; key: string; version?: string } }

export interface StreamRecord {
  streamId: string;
  streamArn: string;
  streamVersion: number;
  description?: string;
  files: StreamFile[];
  roleArn: string;
  /** epoch ms */
  createdAt: number;
  lastUpdatedAt: number;
}

export interface StreamsOptions {
  records: Collection<StreamRecord>;
  stateDir: string;
  arn: (resource: string) => string;
  now: () => number;
  log: (line: string) => void;
  /** answers the connection that asked; without a client id (an HTTPS publish) the answer is published */
  answer: (clientId: string | undefined, topic: string, payload: Buffer | string) => Promise<unknown>;
}

/** AWS: stream ids are 1-128 characters of [a-zA-Z0-9_-]; a stream has 1-50 files with ids 0-255; a file is at most 24 MB (98,304 blocks of 256 bytes). */
const STREAM_ID = /^[a-zA-Z0-9_-]{1,128}$/;
const MAX_FILES = 50;
export const MAX_FILE_BYTES = 98_304 * 256;
/** S3's bucket names: 3-63 characters of lower-case letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const REQUEST_TOPIC = /^\$aws\/things\/([^/]+)\/streams\/([^/]+)\/(describe|get)\/(json|cbor)$/;
const STREAM_TOPIC = /^\$aws\/things\/([^/]+)\/streams\/([^/]+)\/(.+)$/;

export class Streams {
  constructor(private readonly o: StreamsOptions) {}

  /** The folder file sources live in: `<state>/s3`. */
  get s3Dir(): string {
    return join(this.o.stateDir, "s3");
  }

  /** Where `s3Location` points in the state directory; InvalidRequestException for a name that is not a bucket or escapes it. */
  sourcePath(location: { bucket?: unknown; key?: unknown }): string {
    const bucket = String(location.bucket ?? ""), key = String(location.key ?? "");
    if (!BUCKET.test(bucket)) throw new AwsError("InvalidRequestException", `s3Location.bucket '${bucket}' is not a bucket name (3-63 characters of a-z, 0-9, '.', '-')`);
    const bucketDir = resolve(this.s3Dir, bucket);
    const path = resolve(bucketDir, key);
    if (key === "" || key.includes("\0") || !path.startsWith(bucketDir + sep)) throw new AwsError("InvalidRequestException", `s3Location.key '${key}' must name a file inside the bucket`);
    return path;
  }

  private checkFiles(files: unknown): StreamFile[] {
    if (!Array.isArray(files) || files.length < 1 || files.length > MAX_FILES) throw new AwsError("InvalidRequestException", `a stream has 1 to ${MAX_FILES} files`);
    const seen = new Set<number>();
    return files.map((file: { fileId?: unknown; s3Location?: { bucket?: unknown; key?: unknown; version?: unknown } }) => {
      const id = file.fileId;
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 255) throw new AwsError("InvalidRequestException", `fileId ${String(id)} must be an integer from 0 to 255`);
      if (seen.has(id)) throw new AwsError("InvalidRequestException", `fileId ${id} appears twice`);
      seen.add(id);
      if (!file.s3Location) throw new AwsError("InvalidRequestException", `file ${id} needs an s3Location`);
      const path = this.sourcePath(file.s3Location);
      if (!existsSync(path)) {
        throw new AwsError("InvalidRequestException", `file ${id}: s3://${String(file.s3Location.bucket)}/${String(file.s3Location.key)} does not exist: this stand-in reads it from ${path} (copy the file there; see docs/iotcore-compatibility.md)`);
      }
      if (statSync(path).size > MAX_FILE_BYTES) throw new AwsError("InvalidRequestException", `file ${id} is larger than ${MAX_FILE_BYTES} bytes, the most a stream file can be`);
      const { bucket, key, version } = file.s3Location as { bucket: string; key: string; version?: string };
      return { fileId: id, s3Location: { bucket, key, ...(version !== undefined ? { version } : {}) } };
    });
  }

  get(streamId: string): StreamRecord {
    const record = this.o.records.get(String(streamId));
    if (!record) throw notFound(`Stream ${streamId}`);
    return record;
  }

  /** The control-plane operations, keyed by their service-model names. */
  operations(): Record<string, OperationHandler> {
    const { records } = this.o;
    const seconds = (ms: number) => ms / 1000;
    const summary = (s: StreamRecord) => ({ streamId: s.streamId, streamArn: s.streamArn, streamVersion: s.streamVersion, description: s.description });
    return {
      CreateStream: (input: OperationInput) => {
        const streamId = String(input.streamId);
        if (!STREAM_ID.test(streamId)) throw new AwsError("InvalidRequestException", `streamId '${streamId}' must be 1-128 characters of a-z, A-Z, 0-9, '_' or '-'`);
        if (records.has(streamId)) throw new AwsError("ResourceAlreadyExistsException", `Stream ${streamId} already exists`);
        if (typeof input.roleArn !== "string") throw new AwsError("InvalidRequestException", "roleArn is required");
        const now = this.o.now();
        const record: StreamRecord = {
          streamId, streamArn: this.o.arn(`stream/${streamId}`), streamVersion: 1, files: this.checkFiles(input.files), roleArn: input.roleArn,
          createdAt: now, lastUpdatedAt: now, ...(input.description !== undefined ? { description: String(input.description) } : {}),
        };
        records.put(streamId, record);
        this.o.log(`streams: stream ${streamId} created with ${record.files.length} file(s)`);
        return summary(record);
      },
      UpdateStream: (input: OperationInput) => {
        const current = this.get(input.streamId);
        const next: StreamRecord = {
          ...current, streamVersion: current.streamVersion + 1, lastUpdatedAt: this.o.now(),
          ...(input.files !== undefined ? { files: this.checkFiles(input.files) } : {}),
          ...(input.description !== undefined ? { description: String(input.description) } : {}),
          ...(typeof input.roleArn === "string" ? { roleArn: input.roleArn } : {}),
        };
        records.put(next.streamId, next);
        return summary(next);
      },
      DescribeStream: (input: OperationInput) => {
        const s = this.get(input.streamId);
        return { streamInfo: { ...summary(s), files: s.files, createdAt: seconds(s.createdAt), lastUpdatedAt: seconds(s.lastUpdatedAt), roleArn: s.roleArn } };
      },
      ListStreams: (input: OperationInput) => {
        const list = records.list().sort((a, b) => a.createdAt - b.createdAt);
        if (input.ascendingOrder === false) list.reverse();
        const { items, next } = page(list, input.maxResults, input.nextToken);
        return { streams: items.map(summary), nextToken: next };
      },
      DeleteStream: (input: OperationInput) => {
        this.get(input.streamId);
        records.delete(String(input.streamId));
        this.o.log(`streams: stream ${input.streamId} deleted`);
      },
    };
  }

  // ---- device topics ---------------------------------------------------------------------

  /** Answers a DescribeStream or GetStream request; returns false for topics that are no request. */
  handleMessage(message: { topic: string; payload: Uint8Array; clientId?: string }): boolean {
    const match = REQUEST_TOPIC.exec(message.topic);
    if (!match) {
      const other = STREAM_TOPIC.exec(message.topic);
      if (!other || /^(description|data|rejected)\/(json|cbor)$/.test(other[3])) return false;
      const format: Format = other[3].endsWith("/cbor") ? "cbor" : "json";
      void this.reject(message.clientId, `$aws/things/${other[1]}/streams/${other[2]}`, format, { code: "InvalidTopic", message: `${message.topic} is not a topic of MQTT-based file delivery` });
      return true;
    }
    const [, thing, streamId, operation, format] = match as unknown as [string, string, string, "describe" | "get", Format];
    const prefix = `$aws/things/${thing}/streams/${streamId}`;
    void this.serve(message.clientId, prefix, operation, format, message.payload).catch((error: Error) => {
      this.o.log(`streams: ${message.topic}: internal failure: ${error.stack ?? error.message}`);
      return this.reject(message.clientId, prefix, format, { code: "InternalError", message: "An internal failure of the stand-in (logged)" });
    });
    return true;
  }

  private async serve(clientId: string | undefined, prefix: string, operation: "describe" | "get", format: Format, payload: Uint8Array): Promise<void> {
    const body = format === "json" ? parseJsonRequest(payload) : parseCborRequest(payload);
    if (!body.ok) return this.reject(clientId, prefix, format, body.error);
    const token = clientTokenOf(body.value);
    if (!token.ok) return this.reject(clientId, prefix, format, token.error);
    const clientToken = token.value;
    const streamId = prefix.slice(prefix.lastIndexOf("/") + 1);
    const record = this.o.records.get(streamId);
    if (!record) return this.reject(clientId, prefix, format, { code: "ResourceNotFound", message: `Stream ${streamId} was not found`, ...(clientToken !== undefined ? { clientToken } : {}) });
    const view = await this.view(record);
    if (operation === "describe") return this.send(clientId, `${prefix}/description/${format}`, format, describeAnswer(view, clientToken));
    const plan = planGetStream(view, body.value);
    if (!plan.ok) return this.reject(clientId, prefix, format, plan.error);
    const file = record.files.find((f) => f.fileId === plan.value.fileId)!;
    const handle = await open(this.sourcePath(file.s3Location), "r");
    try {
      for (const block of plan.value.blocks) {
        const buffer = Buffer.alloc(plan.value.blockSize);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, block * plan.value.blockSize);
        await this.send(clientId, `${prefix}/data/${format}`, format, blockAnswer(plan.value, block, buffer.subarray(0, bytesRead), format));
      }
    } finally {
      await handle.close();
    }
    this.o.log(`streams: ${prefix}: sent ${plan.value.blocks.length} block(s) of ${plan.value.blockSize} bytes of file ${plan.value.fileId} (${format})`);
  }

  /** The stream as the device sees it: each file's size now (undefined when its source is gone). */
  private async view(record: StreamRecord): Promise<StreamView> {
    const files = await Promise.all(record.files.map(async (f) => ({
      fileId: f.fileId, size: await stat(this.sourcePath(f.s3Location)).then((s) => s.size, () => undefined),
    })));
    return { streamId: record.streamId, streamVersion: record.streamVersion, ...(record.description !== undefined ? { description: record.description } : {}), files };
  }

  private async send(clientId: string | undefined, topic: string, format: Format, body: Record<string, unknown>): Promise<void> {
    await this.o.answer(clientId, topic, encodeAnswer(format, body));
  }

  private reject(clientId: string | undefined, prefix: string, format: Format, error: DeliveryError): Promise<void> {
    this.o.log(`streams: ${prefix} rejected: ${error.code}: ${error.message}`);
    return this.send(clientId, `${prefix}/rejected/${format}`, format, errorAnswer(error));
  }
}
