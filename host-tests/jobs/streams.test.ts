// MQTT-based file delivery in the stand-in: GetStream's rules as pure functions, streams made with
// @aws-sdk/client-iot, and an mqtt.js device fetching blocks with AWS's documented JSON requests.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decode, encode } from "cbor2";
import { CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, ListStreamsCommand, UpdateStreamCommand, type IoTClient } from "@aws-sdk/client-iot";
import type { IotCore } from "../../host/iotcore/index.js";
import { decodeBitmap, planGetStream, type StreamView } from "../../host/iotcore/services/streams/delivery.js";
import { closed, connectMtls, endClient, iotClient, registeredDevice, sdkError, startCore, subscribeCodes, tempDir } from "../iotcore/helpers.js";
import { jobsPolicy, TestDevice, type Received } from "./device.js";

const STREAM: StreamView = { streamId: "s", streamVersion: 3, files: [{ fileId: 0, size: 256 * 100 }, { fileId: 1, size: 1000 }, { fileId: 2, size: undefined }] };

describe("GetStream requests (MQTT-based file delivery rules)", () => {
  it("reads AWS's bitmap example: offset 20 and 0x130080 ask for blocks 20, 21, 24 and 43", () => {
    assert.deepEqual([...decodeBitmap("0x130080")!], [0x13, 0x00, 0x80]);
    const plan = planGetStream(STREAM, { c: "1", s: 3, l: 256, f: 0, o: 20, n: 32, b: "0x130080" });
    assert.deepEqual(plan, { ok: true, value: { clientToken: "1", fileId: 0, blockSize: 256, blocks: [20, 21, 24, 43] } });
  });

  it("without a bitmap sends n blocks from the offset, never past the file's end nor over 128 KB per request", () => {
    assert.deepEqual(planGetStream(STREAM, { f: 0, l: 256, o: 97, n: 10 }), { ok: true, value: { fileId: 0, blockSize: 256, blocks: [97, 98, 99] } });
    const big = { ...STREAM, files: [{ fileId: 0, size: 1024 * 1024 }] };
    const capped = planGetStream(big, { f: 0, l: 4096, n: 100 });
    assert.ok(capped.ok);
    assert.equal(capped.value.blocks.length, 32, "131072 / 4096 blocks per request");
    const byDefault = planGetStream(big, { f: 0, l: 1024 });
    assert.ok(byDefault.ok);
    assert.equal(byDefault.value.blocks.length, 128, "n defaults to 131072 / block size");
    assert.deepEqual(planGetStream(STREAM, { f: 1, l: 256, o: 3 }), { ok: true, value: { fileId: 1, blockSize: 256, blocks: [3] } }, "the last block is short (1000 bytes)");
  });

  it("answers AWS's codes for each bound: block size, offset, block count, bitmap size, version, file", () => {
    const code = (body: Record<string, unknown>) => { const r = planGetStream(STREAM, body); return r.ok ? "ok" : r.error.code; };
    assert.equal(code({ f: 0, l: 255 }), "BlockSizeOutOfBounds");
    assert.equal(code({ f: 0, l: 131_073 }), "BlockSizeOutOfBounds");
    assert.equal(code({ f: 0, l: 131_072 }), "ok");
    assert.equal(code({ f: 0, l: 256, o: 98_305 }), "OffsetOutOfBounds");
    assert.equal(code({ f: 0, l: 256, o: 100 }), "OffsetOutOfBounds", "past the last block");
    assert.equal(code({ f: 0, l: 256, n: 98_305 }), "BlockCountLimitExceeded");
    assert.equal(code({ f: 0, l: 256, b: `0x${"ff".repeat(12_288)}` }), "BlockBitmapLimitExceeded");
    assert.equal(code({ f: 0, l: 256, b: `0x${"ff".repeat(12_287)}` }), "ok");
    assert.equal(code({ f: 0, l: 256, b: "zz" }), "InvalidRequest");
    assert.equal(code({ f: 0, l: 256, s: 2 }), "VersionMismatch");
    assert.equal(code({ f: 9, l: 256 }), "ResourceNotFound");
    assert.equal(code({ f: 2, l: 256 }), "ResourceNotFound", "a file whose source is gone");
    assert.equal(code({ f: 256, l: 256 }), "InvalidRequest");
    assert.equal(code({ f: 0 }), "InvalidRequest");
    assert.equal(code({ c: "x".repeat(65), f: 0, l: 256 }), "InvalidRequest");
    assert.equal(code({ f: 0, l: 256, o: 2, b: "0x00" }), "ResourceNotFound", "a bitmap naming no block");
  });
});

describe("MQTT-based file delivery (stand-in) with @aws-sdk/client-iot and an mqtt.js device", function () {
  this.timeout(60_000);
  let dir: ReturnType<typeof tempDir>;
  let core: IotCore & { lines: string[] };
  let iot: IoTClient;
  let device: TestDevice;
  const image = randomBytes(300 * 1024 + 77);
  const roleArn = "arn:aws:iam::123456789012:role/stream-reader";

  before(async () => {
    dir = tempDir("streams");
    core = await startCore(dir.path);
    iot = iotClient(core);
    mkdirSync(join(dir.path, "s3", "firmware", "builds"), { recursive: true });
    writeFileSync(join(dir.path, "s3", "firmware", "builds", "app.bin"), image);
    writeFileSync(join(dir.path, "s3", "firmware", "notes.txt"), "release notes");
    await iot.send(new CreateStreamCommand({
      streamId: "ota-1", description: "build 7", roleArn,
      files: [{ fileId: 0, s3Location: { bucket: "firmware", key: "builds/app.bin" } }, { fileId: 5, s3Location: { bucket: "firmware", key: "notes.txt", version: "v1" } }],
    }));
    device = await TestDevice.connect(core, "fetcher", ["streams/#"]);
  });
  after(async () => {
    await endClient(device?.client);
    iot?.destroy();
    await core?.close();
    dir?.remove();
  });

  /** Publishes a request on `<stream>/<verb>/json` and collects what arrives on data/description/rejected until `count` answers came. */
  async function ask(streamId: string, verb: string, body: Record<string, unknown> | string, count = 1): Promise<Received[]> {
    const prefix = `$aws/things/fetcher/streams/${streamId}`;
    const from = device.seen.length;
    device.client.publish(`${prefix}/${verb}/json`, typeof body === "string" ? body : JSON.stringify(body));
    const answers = () => device.seen.slice(from).filter((m) => /\/(data|description|rejected)\/json$/.test(m.topic));
    const end = Date.now() + 5000;
    while (answers().length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(answers().length, count, `answers to ${verb}: ${JSON.stringify(answers().map((m) => m.body.o ?? m.topic))}`);
    return answers();
  }

  it("DescribeStream answers the version, description and each file's id and size", async () => {
    const [answer] = await ask("ota-1", "describe", { c: "d1" });
    assert.equal(answer.topic, "$aws/things/fetcher/streams/ota-1/description/json");
    assert.deepEqual(answer.body, { c: "d1", s: 1, d: "build 7", r: [{ f: 0, z: image.length }, { f: 5, z: 13 }] });
  });

  it("GetStream with a bitmap sends exactly the blocks asked for, in base64, and the whole file arrives over several requests", async () => {
    const blocks = await ask("ota-1", "get", { c: "g1", s: 1, f: 0, l: 1024, o: 8, n: 4, b: "0x0501" }, 3);
    assert.deepEqual(blocks.map((m) => [m.topic.endsWith("/data/json"), m.body.c, m.body.f, m.body.l, m.body.i]), [[true, "g1", 0, 1024, 8], [true, "g1", 0, 1024, 10], [true, "g1", 0, 1024, 16]]);
    for (const m of blocks) assert.deepEqual(Buffer.from(String(m.body.p), "base64"), image.subarray(Number(m.body.i) * 1024, (Number(m.body.i) + 1) * 1024));

    const blockSize = 32 * 1024;
    const total = Math.ceil(image.length / blockSize);
    const received = new Map<number, Buffer>();
    for (let offset = 0; offset < total;) {
      const answers = await ask("ota-1", "get", { f: 0, l: blockSize, o: offset, n: total }, Math.min(4, total - offset));
      for (const m of answers) received.set(Number(m.body.i), Buffer.from(String(m.body.p), "base64"));
      offset += answers.length;
    }
    assert.deepEqual(Buffer.concat([...received.keys()].sort((a, b) => a - b).map((i) => received.get(i)!)), image);
    assert.equal(received.get(total - 1)!.length, image.length % blockSize, "the last block is short");
  });

  it("answers rejections on rejected/json with AWS's codes and the client token", async () => {
    const cases: [string, Record<string, unknown> | string, string][] = [
      ["ota-1", { c: "r1", f: 0, l: 100 }, "BlockSizeOutOfBounds"],
      ["ota-1", { c: "r2", f: 0, l: 1024, o: 5000 }, "OffsetOutOfBounds"],
      ["ota-1", { c: "r3", f: 0, l: 1024, n: 100_000 }, "BlockCountLimitExceeded"],
      ["ota-1", { c: "r4", f: 0, l: 1024, b: `0x${"01".repeat(12_288)}` }, "BlockBitmapLimitExceeded"],
      ["ota-1", { c: "r5", s: 2, f: 0, l: 1024 }, "VersionMismatch"],
      ["ota-1", { c: "r6", f: 3, l: 1024 }, "ResourceNotFound"],
      ["no-such-stream", { c: "r7", f: 0, l: 1024 }, "ResourceNotFound"],
      ["ota-1", "{oops", "InvalidJson"],
      ["ota-1", { c: "x".repeat(65), f: 0, l: 1024 }, "InvalidRequest"],
    ];
    for (const [streamId, body, code] of cases) {
      const [answer] = await ask(streamId, "get", body);
      assert.equal(answer.topic, `$aws/things/fetcher/streams/${streamId}/rejected/json`);
      assert.equal(answer.body.o, code, JSON.stringify(answer.body));
      assert.equal(typeof answer.body.m, "string");
      if (typeof body === "object" && String(body.c).length <= 64) assert.equal(answer.body.c, body.c);
      else assert.equal(answer.body.c, undefined, "an invalid client token is not echoed");
    }
    const [topic] = await ask("ota-1", "fetch", { c: "t1" });
    assert.deepEqual([topic.topic, topic.body.o], ["$aws/things/fetcher/streams/ota-1/rejected/json", "InvalidTopic"]);
  });

  it("answers the same requests in CBOR on the cbor topics: byte-string bitmap in, byte-string blocks out, InvalidCbor for what is not CBOR", async () => {
    const prefix = "$aws/things/fetcher/streams/ota-1";
    const from = device.seen.length;
    device.client.publish(`${prefix}/describe/cbor`, Buffer.from(encode({ c: "cd" })));
    device.client.publish(`${prefix}/get/cbor`, Buffer.from(encode({ c: "cg", f: 0, l: 2048, o: 1, b: new Uint8Array([0b101]) })));
    device.client.publish(`${prefix}/get/cbor`, Buffer.from([0xff, 0x00]));
    const cbor = () => device.seen.slice(from).filter((m) => /\/(description|data|rejected)\/cbor$/.test(m.topic)).map((m) => ({ topic: m.topic, body: decode(m.payload) as Record<string, unknown> }));
    const end = Date.now() + 5000;
    while (cbor().length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const answers = cbor();
    assert.deepEqual(answers.find((m) => m.topic.endsWith("/description/cbor"))?.body, { c: "cd", s: 1, d: "build 7", r: [{ f: 0, z: image.length }, { f: 5, z: 13 }] });
    const data = answers.filter((m) => m.topic.endsWith("/data/cbor"));
    assert.deepEqual(data.map((m) => m.body.i), [1, 3]);
    for (const m of data) assert.deepEqual(Buffer.from(m.body.p as Uint8Array), image.subarray(Number(m.body.i) * 2048, (Number(m.body.i) + 1) * 2048));
    assert.equal(answers.find((m) => m.topic.endsWith("/rejected/cbor"))?.body.o, "InvalidCbor");
  });

  it("a device's policy keeps it to its own streams topics", async () => {
    const issued = await registeredDevice(core, "snoop", [jobsPolicy(core.region, core.accountId, "snoop")], "snoop");
    const { client } = await connectMtls(core, issued, { clientId: "snoop" });
    try {
      assert.deepEqual(await subscribeCodes(client, { "$aws/things/fetcher/streams/ota-1/data/json": { qos: 0 }, "$aws/things/snoop/streams/ota-1/data/json": { qos: 0 } }), [0x80, 0]);
      client.publish("$aws/things/fetcher/streams/ota-1/get/json", JSON.stringify({ f: 0, l: 1024 }));
      assert.ok(await closed(client), "publishing on another thing's streams topic closes the connection");
    } finally {
      await endClient(client);
    }
  });

  it("create, update, list, describe and delete streams as AWS answers them; a missing source names the file to copy", async () => {
    const missing = await sdkError(iot.send(new CreateStreamCommand({ streamId: "ota-2", roleArn, files: [{ fileId: 0, s3Location: { bucket: "firmware", key: "nope.bin" } }] })));
    assert.equal(missing.name, "InvalidRequestException");
    assert.ok(missing.message.includes(join(dir.path, "s3", "firmware", "nope.bin")), missing.message);
    const escape = await sdkError(iot.send(new CreateStreamCommand({ streamId: "ota-2", roleArn, files: [{ fileId: 0, s3Location: { bucket: "firmware", key: "../../registry/things.json" } }] })));
    assert.match(escape.message, /inside the bucket/);
    assert.equal((await sdkError(iot.send(new CreateStreamCommand({ streamId: "ota-1", roleArn, files: [{ fileId: 0, s3Location: { bucket: "firmware", key: "notes.txt" } }] })))).name, "ResourceAlreadyExistsException");
    const updated = await iot.send(new UpdateStreamCommand({ streamId: "ota-1", description: "build 8" }));
    assert.equal(updated.streamVersion, 2);
    const [stale] = await ask("ota-1", "get", { c: "v", s: 1, f: 0, l: 1024 });
    assert.equal(stale.body.o, "VersionMismatch");
    const described = (await iot.send(new DescribeStreamCommand({ streamId: "ota-1" }))).streamInfo!;
    assert.deepEqual([described.streamVersion, described.description, described.roleArn, described.files?.[1]?.s3Location?.version], [2, "build 8", roleArn, "v1"]);
    assert.deepEqual((await iot.send(new ListStreamsCommand({}))).streams?.map((s) => s.streamId), ["ota-1"]);
    await iot.send(new DeleteStreamCommand({ streamId: "ota-1" }));
    assert.equal((await sdkError(iot.send(new DescribeStreamCommand({ streamId: "ota-1" })))).name, "ResourceNotFoundException");
    const [gone] = await ask("ota-1", "describe", { c: "g" });
    assert.equal(gone.body.o, "ResourceNotFound");
  });
});
