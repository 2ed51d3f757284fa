// OTA (firmware/features/ota.ts, ota/download.ts) against a fake of AWS's Jobs and stream topics,
// writing to the host's update slot (host/runtime/node/update-slot.ts).
import assert from "node:assert/strict";
import { sign } from "node:crypto";
import jobs from "../../firmware/features/jobs.js";
import ota from "../../firmware/features/ota.js";
import { createCodeSigner, type Issued } from "../../certs/pki.js";
import { appImage } from "../../host/runtime/app-image.js";
import { FakeAws } from "./fake-aws.js";

const SIZE = 40_000;
const BLOCK = 1024;

describe("OTA (firmware, against a fake Jobs and stream service)", () => {
  let signer: Issued;
  let stranger: Issued;
  before(async () => {
    signer = await createCodeSigner({ subject: { commonName: "OTA signer" } });
    stranger = await createCodeSigner({ subject: { commonName: "someone else" } });
  });

  function document(image: Uint8Array, options: { by?: Issued; certfile?: string; size?: number } = {}) {
    const signature = sign("sha256", image, options.by?.key.privateKeyPem ?? signer.key.privateKeyPem).toString("base64");
    return { afr_ota: { protocols: ["MQTT"], streamname: "fw-1", files: [{ filepath: "/", filesize: options.size ?? image.length, fileid: 0, certfile: options.certfile ?? "code-signing.pem", "sig-sha256-ecdsa": signature }] } };
  }

  function device(image: Uint8Array): FakeAws {
    const aws = new FakeAws([jobs, ota], [["code-signing.pem", signer.certDer]], { ota: { blockSize: BLOCK, blocksPerRequest: 4 } });
    aws.streams.set("fw-1", new Map([[0, image]]));
    aws.boot();
    aws.connect();
    return aws;
  }

  it("downloads a signed image block by block, activates it, restarts into it and reports SUCCEEDED with the new version once connected again", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    aws.queueJob("ota-1", document(image));
    assert.equal(aws.restarts, 1, "restarted into the new image");
    assert.equal(aws.execution("ota-1").status, "IN_PROGRESS");
    assert.equal(aws.execution("ota-1").statusDetails!.step, "activated");
    assert.equal(aws.slot.version(), "0.2.0");
    assert.ok(aws.storage.get("ota.pending") !== undefined, "awaiting confirmation");
    aws.connect();
    assert.equal(aws.execution("ota-1").status, "SUCCEEDED");
    assert.equal(aws.execution("ota-1").statusDetails!.firmware, "0.2.0");
    assert.equal(aws.storage.get("ota.pending"), undefined, "confirmed");
    const offsets = aws.streamRequests.map((r) => r.o);
    assert.deepEqual(offsets, Array.from({ length: Math.ceil(SIZE / BLOCK / 4) }, (_, i) => i * 4), "each block asked for once, four per request");
  });

  it("fails a tampered image with the signature reason and keeps the running image", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    const tampered = image.slice();
    tampered[20_000] ^= 1;
    aws.streams.set("fw-1", new Map([[0, tampered]]));
    aws.queueJob("ota-2", document(image));
    assert.equal(aws.execution("ota-2").status, "FAILED");
    assert.match(aws.execution("ota-2").statusDetails!.reason!, /^signature check failed: the image \(sha256 [0-9a-f]{64}\) is not signed by the key of "code-signing.pem"$/);
    assert.equal(aws.restarts, 0);
    assert.equal(aws.slot.version(), undefined, "the running image is still the one that boots");
  });

  it("fails an image signed by another key, and a certfile the device does not carry, each with the reason", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    aws.queueJob("ota-3", document(image, { by: stranger }));
    assert.match(aws.execution("ota-3").statusDetails!.reason!, /^signature check failed/);
    aws.queueJob("ota-4", document(image, { certfile: "other.pem" }));
    assert.equal(aws.execution("ota-4").status, "FAILED");
    assert.match(aws.execution("ota-4").statusDetails!.reason!, /certfile "other.pem" is not a code-signing certificate this device carries \(code-signing.pem\)/);
    assert.equal(aws.restarts, 0);
  });

  it("fails when the stream's file is not the size the job names", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    aws.queueJob("ota-5", document(image, { size: SIZE + 10 }));
    assert.equal(aws.execution("ota-5").status, "FAILED");
    assert.match(aws.execution("ota-5").statusDetails!.reason!, /block 39 of stream fw-1 holds 64 bytes, not 74: the stream's file is not the 40010-byte image the job names/);
  });

  it("resumes a dropped download at the first missing block, not at zero", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    let dropped = false;
    aws.onBlock = (i) => (i === 18 && !dropped && (dropped = true) ? "drop" : "deliver");
    aws.queueJob("ota-6", document(image));
    assert.equal(aws.online, false, "the session dropped as block 18 was on its way");
    const before = aws.streamRequests.length;
    assert.deepEqual(aws.streamRequests.map((r) => r.o), [0, 4, 8, 12, 16]);
    aws.connect();
    const after = aws.streamRequests.slice(before).map((r) => r.o);
    assert.deepEqual(after, [18, 22, 26, 30, 34, 38], "from block 18 on, each once: blocks 0-17 are not asked for again");
    aws.connect();
    assert.equal(aws.execution("ota-6").status, "SUCCEEDED");
  });

  it("asks again from the first missing block when a requested block never arrives", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    let lost = false;
    aws.onBlock = (i) => (i === 9 && !lost && (lost = true) ? "lose" : "deliver");
    aws.queueJob("ota-7", document(image));
    assert.deepEqual(aws.streamRequests.map((r) => r.o), [0, 4, 8]);
    assert.equal(aws.restarts, 0, "waiting for block 9");
    aws.time.advance(10_000);
    aws.flush();
    assert.equal(aws.streamRequests[3]!.o, 9, "after the answer timeout, from the lost block");
    assert.equal(aws.restarts, 1);
    assert.equal(aws.execution("ota-7").statusDetails!.step, "activated");
  });

  it("rejects an RSA-signed image with the reason (this device verifies ECDSA P-256)", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    const doc = document(image);
    const file = doc.afr_ota.files[0] as Record<string, unknown>;
    file["sig-sha256-rsa"] = file["sig-sha256-ecdsa"];
    delete file["sig-sha256-ecdsa"];
    aws.queueJob("ota-8", doc);
    assert.equal(aws.execution("ota-8").status, "FAILED");
    assert.match(aws.execution("ota-8").statusDetails!.reason!, /signed with RSA \(sig-sha256-rsa\); this device verifies ECDSA P-256 signatures \(sig-sha256-ecdsa\) only/);
  });

  it("rolls back an image that gets no session within confirmWithinMs, and the job then FAILS with the reason", () => {
    const image = appImage("0.2.0", SIZE);
    const aws = device(image);
    aws.queueJob("ota-9", document(image));
    assert.equal(aws.slot.version(), "0.2.0");
    aws.time.advance(300_000);
    assert.equal(aws.restarts, 2, "restarted into the previous image");
    assert.equal(aws.slot.version(), undefined, "the previous image boots again");
    aws.connect();
    assert.equal(aws.execution("ota-9").status, "FAILED");
    assert.match(aws.execution("ota-9").statusDetails!.reason!, /the activated image did not stay: the device runs 0\.1\.0 again/);
  });
});
