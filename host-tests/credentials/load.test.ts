import assert from "node:assert/strict";
import { encodeImage, partitionImage, preferenceEntries, type ImageContents } from "../../certs/image.js";
import { createRootCa, issueCertificate } from "../../certs/pki.js";
import { decodeContainer } from "../../firmware/credentials/container.js";
import { encodeContainer } from "../../firmware/credentials/encode.js";
import { containerCrc, ENTRY_HEADER_SIZE, ENTRY_TRUSTED_CA, HEADER_SIZE, MAGIC, VERSION } from "../../firmware/credentials/format.js";
import { loadCredentials, type Credentials } from "../../firmware/credentials/load.js";
import type { Result } from "../../firmware/platform/failure.js";
import { makePki, MemoryStorage, partitionOf, recordingPlatform, type Pki } from "./fixtures.js";

describe("firmware/credentials loader", () => {
  let pki: Pki;
  let contents: ImageContents;
  let image: Uint8Array;

  before(async () => {
    pki = await makePki();
    contents = {
      key: pki.device.key.privateKeyDer,
      chain: [pki.device.certDer, pki.ca.certDer],
      trustedCa: [pki.serverCa.certDer],
      settings: { thingName: "thing-1", endpoint: "abc-ats.iot.us-east-1.amazonaws.com" },
    };
    image = encodeImage(contents);
  });

  function fromResource(bytes: Uint8Array, clockMs?: number): Result<Credentials> {
    const platform = recordingPlatform(clockMs);
    return loadCredentials(platform, { resource: (name) => (name === "devcreds.bin" ? bytes : undefined) }, { order: ["resource"] });
  }

  function expectSame(result: Result<Credentials>, source: string) {
    assert.ok(result.ok, !result.ok ? result.failure.message : "");
    assert.equal(result.value.source, source);
    assert.deepEqual(result.value.clientKey, contents.key);
    assert.deepEqual(result.value.certificateChain, contents.chain);
    assert.deepEqual(result.value.trustedCa, contents.trustedCa);
    assert.deepEqual(result.value.settings, contents.settings);
  }

  it("reads back what the host encoded from a flash partition padded with erased bytes", () => {
    const platform = recordingPlatform();
    expectSame(loadCredentials(platform, { partition: partitionOf(partitionImage(image)) }), "partition");
  });

  it("reads back what the host encoded from Preference entries within NVS limits", () => {
    const big = encodeImage({ ...contents, settings: { ...contents.settings, note: "x".repeat(6000) } });
    const entries = preferenceEntries(big);
    assert.equal(entries.length, 1 + Math.ceil(big.length / 4000), "a long image is split into parts");
    for (const { key, value } of entries) {
      assert.ok(key.length <= 15);
      assert.ok(value.length <= 4000);
    }
    const storage = new MemoryStorage();
    for (const { key, value } of entries) storage.set(key, value);
    const result = loadCredentials(recordingPlatform(Date.now(), storage), {});
    assert.ok(result.ok);
    assert.equal(result.value.settings.note, "x".repeat(6000));
    assert.deepEqual(result.value.certificateChain, contents.chain);
    assert.deepEqual(result.value.clientKey, contents.key);
  });

  it("reads back what the host encoded from a resource", () => {
    expectSame(fromResource(image), "resource");
  });

  it("skips an erased partition and an empty Preference and uses the next source in order", () => {
    const erased = new Uint8Array(8192).fill(0xff);
    const platform = recordingPlatform();
    const result = loadCredentials(platform, { partition: partitionOf(erased), resource: () => image });
    expectSame(result, "resource");
    assert.ok(platform.lines.some((l) => l.includes("nothing in credentials partition 'devcerts'")));
  });

  it("honours a configured order", () => {
    const storage = new MemoryStorage();
    for (const { key, value } of preferenceEntries(image)) storage.set(key, value);
    const result = loadCredentials(recordingPlatform(Date.now(), storage), { resource: () => image }, { order: ["resource", "preference"] });
    expectSame(result, "resource");
  });

  it("stops at a corrupt partition instead of falling back to another source", () => {
    const bad = partitionImage(image);
    bad[200] ^= 0x01;
    const result = loadCredentials(recordingPlatform(), { partition: partitionOf(bad), resource: () => image });
    assert.ok(!result.ok);
    assert.equal(result.failure.code, "credentials-checksum-mismatch");
    assert.match(result.failure.message, /^credentials partition 'devcerts': checksum mismatch; write a new image with `npm run certs -- image`/);
  });

  it("names the source and its fix when a partition or Preference holds something that is not an image", () => {
    const junk = new Uint8Array(4096).fill(0x41);
    const fromPartition = loadCredentials(recordingPlatform(), { partition: partitionOf(junk) });
    assert.ok(!fromPartition.ok);
    assert.equal(fromPartition.failure.code, "credentials-not-an-image");
    assert.match(fromPartition.failure.message, /^credentials partition 'devcerts': not a credentials image; write a new image with `npm run certs -- image`/);
    const storage = new MemoryStorage();
    storage.set("creds.n", "2");
    const fromPreference = loadCredentials(recordingPlatform(Date.now(), storage), {}, { order: ["preference"] });
    assert.ok(!fromPreference.ok);
    assert.equal(fromPreference.failure.code, "credentials-truncated");
    assert.match(fromPreference.failure.message, /^credentials in Preference 'creds\.\*': part 'creds\.0' is missing; rewrite them with `npm run certs -- preference`/);
  });

  it("reports missing credentials naming every source tried and the command that writes them", () => {
    const result = loadCredentials(recordingPlatform(), { partition: partitionOf(new Uint8Array(4096)), resource: () => undefined });
    assert.ok(!result.ok);
    assert.equal(result.failure.code, "credentials-not-found");
    assert.match(result.failure.message, /partition 'devcerts'.*Preference.*resource 'devcreds.bin'.*npm run certs -- image/);
  });

  it("turns a source that throws into a Failure", () => {
    const platform = recordingPlatform();
    const result = loadCredentials(platform, { resource: () => { throw new Error("no such resource"); } }, { order: ["resource"] });
    assert.ok(!result.ok);
    assert.equal(result.failure.code, "credentials-source-error");
  });

  it("keeps the private key out of JSON, spreads and object inspection", () => {
    const result = fromResource(image);
    assert.ok(result.ok);
    assert.equal(Object.keys(result.value).includes("clientKey"), false);
    assert.equal("clientKey" in { ...result.value }, false);
    assert.ok(!JSON.stringify(result.value).includes("clientKey"));
    assert.equal(result.value.clientKey.length, contents.key!.length);
  });

  it("gives a clear Failure, never an exception, for every single flipped byte of the image", () => {
    for (let i = 0; i < image.length; i++) {
      const bad = image.slice();
      bad[i] ^= 0xff;
      const result = fromResource(bad);
      assert.ok(!result.ok, `flipping byte ${i} went unnoticed`);
      assert.match(result.failure.code, /^credentials-/);
      assert.match(result.failure.message, /^credentials resource 'devcreds.bin': .+; .*npm run certs/);
    }
  });

  it("gives a clear Failure, never an exception, for every truncation of the image", () => {
    for (let n = 0; n < image.length; n++) {
      const result = fromResource(image.subarray(0, n));
      assert.ok(!result.ok, `truncating to ${n} bytes went unnoticed`);
      assert.match(result.failure.code, /^credentials-(truncated|not-found)$/);
    }
    for (const n of [16, 100, image.length - 1]) {
      const bytes = partitionImage(image.subarray(0, n), 4096);
      const result = loadCredentials(recordingPlatform(), { partition: { ...partitionOf(bytes), byteLength: n } });
      assert.ok(!result.ok && result.failure.code === "credentials-truncated", `partition cut at ${n}`);
    }
  });

  it("never writes an image whose certificate or key DER is damaged, naming the firmware's code, and the device never throws on what is written", () => {
    const targets = [contents.chain[0]!, contents.key!];
    let refused = 0;
    for (const target of targets) {
      for (let i = 0; i < target.length; i += 7) {
        const damaged = target.slice();
        damaged[i] ^= 0x5a;
        let written: Uint8Array;
        try {
          written = encodeImage({
            ...contents,
            key: target === contents.key ? damaged : contents.key,
            chain: target === contents.key ? contents.chain : [damaged, contents.chain[1]!],
          });
        } catch (e) {
          assert.match((e as { code?: string }).code ?? "", /^credentials-/, String(e));
          refused++;
          continue;
        }
        // Damage the structure checks cannot see (a signature byte, a name's text) is for TLS to find.
        const result = fromResource(written);
        if (!result.ok) assert.match(result.failure.code, /^credentials-/);
      }
    }
    assert.ok(refused > 0, "some damage was refused");
  });

  it("refuses to write a key that belongs to another certificate", () => {
    assert.throws(() => encodeImage({ ...contents, key: pki.other.privateKeyDer }), { code: "credentials-key-mismatch", message: /does not belong to the device certificate/ });
  });

  it("catches an expired device certificate and one not yet valid, by the platform clock", async () => {
    const now = Date.now();
    const expired = await issueCertificate({ issuer: pki.ca, kind: "client", key: pki.device.key, subject: { commonName: "thing-1" }, notBefore: new Date(now - 10 * 86_400_000), notAfter: new Date(now - 86_400_000) });
    const future = await issueCertificate({ issuer: pki.ca, kind: "client", key: pki.device.key, subject: { commonName: "thing-1" }, notBefore: new Date(now + 86_400_000), days: 30 });
    const old = fromResource(encodeImage({ ...contents, chain: [expired.certDer, pki.ca.certDer] }), now);
    assert.ok(!old.ok);
    assert.equal(old.failure.code, "credentials-expired");
    assert.match(old.failure.message, /the device certificate expired on/);
    const early = fromResource(encodeImage({ ...contents, chain: [future.certDer, pki.ca.certDer] }), now);
    assert.ok(!early.ok);
    assert.equal(early.failure.code, "credentials-not-yet-valid");
    // the same certificates pass when the clock agrees with them
    assert.ok(fromResource(encodeImage({ ...contents, chain: [future.certDer, pki.ca.certDer] }), now + 2 * 86_400_000).ok);
  });

  it("refuses to judge validity while the clock is unset, as a retryable failure", () => {
    const platform = recordingPlatform(null);
    const result = loadCredentials(platform, { resource: () => image }, { order: ["resource"] });
    assert.ok(!result.ok);
    assert.equal(result.failure.code, "clock-unset");
    assert.equal(result.failure.retryable, true);
  });

  it("refuses to write a chain CA first", () => {
    assert.throws(() => encodeImage({ ...contents, chain: [pki.ca.certDer, pki.device.certDer] }), { code: "credentials-chain-order" });
  });

  it("refuses to write EC and PKCS#1 keys, saying what Moddable's TLS needs", async () => {
    const { generateKeyPairSync, createPrivateKey } = await import("node:crypto");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "der" });
    assert.throws(() => encodeImage({ ...contents, key: new Uint8Array(ec) }), { code: "credentials-key-not-rsa", message: /only RSA PKCS#8/ });
    const pkcs1 = createPrivateKey(pki.device.key.privateKeyPem).export({ type: "pkcs1", format: "der" });
    assert.throws(() => encodeImage({ ...contents, key: new Uint8Array(pkcs1) }), { code: "credentials-key-not-pkcs8" });
  });

  it("judges dates by the windows the image carries, one per certificate, chain then trusted CAs", () => {
    const day = 86_400_000, now = Date.now();
    const bare = (validity: { notBefore: number; notAfter: number }[]) => {
      const written = encodeContainer({ chain: [], trustedCa: contents.trustedCa, settings: {}, validity });
      assert.ok(written.ok);
      return loadCredentials(recordingPlatform(now), { resource: () => written.value }, { order: ["resource"], requireClientCertificate: false });
    };
    assert.ok(bare([{ notBefore: now - day, notAfter: now + day }]).ok);
    const expired = bare([{ notBefore: now - 2 * day, notAfter: now - day }]);
    assert.ok(!expired.ok && expired.failure.code === "credentials-expired");
    assert.match(expired.failure.message, /trusted CA 1 expired on .*replace it with a current root CA/);
  });

  it("refuses an image whose validity entry does not cover every certificate, and one from before the entry existed", () => {
    assert.equal(encodeContainer({ chain: [], trustedCa: contents.trustedCa, settings: {}, validity: [] }).ok, false);
    // One trusted CA and no validity entry, as a hand-made image might be.
    const ca = contents.trustedCa[0]!;
    const handMade = new Uint8Array(HEADER_SIZE + ENTRY_HEADER_SIZE + ca.length);
    const header = new DataView(handMade.buffer);
    header.setUint32(0, MAGIC, true);
    handMade.set([VERSION, HEADER_SIZE, 1, 0], 4);
    header.setUint32(8, ENTRY_HEADER_SIZE + ca.length, true);
    handMade.set([ENTRY_TRUSTED_CA, 0, ca.length & 0xff, ca.length >> 8], HEADER_SIZE);
    handMade.set(ca, HEADER_SIZE + ENTRY_HEADER_SIZE);
    new DataView(handMade.buffer).setUint32(12, containerCrc(handMade, handMade.length), true);
    const uncovered = fromResource(handMade);
    assert.ok(!uncovered.ok && uncovered.failure.code === "credentials-corrupt", JSON.stringify(uncovered));
    assert.match(uncovered.failure.message, /validity entry does not cover the 1 certificates.*npm run certs -- resources/);
    const older = image.slice();
    older[4] = 1;
    const old = fromResource(older);
    assert.ok(!old.ok && old.failure.code === "credentials-unsupported-version");
    assert.match(old.failure.message, /image version 1 is not 2; regenerate it with `npm run certs -- resources`/);
  });

  it("requires a trusted root CA and a complete key/certificate pair", () => {
    const noCa = fromResource(encodeImage({ ...contents, trustedCa: [] }));
    assert.ok(!noCa.ok && noCa.failure.code === "credentials-no-trusted-ca");
    const noKey = fromResource(encodeImage({ ...contents, key: undefined }));
    assert.ok(!noKey.ok && noKey.failure.code === "credentials-incomplete");
  });

  it("accepts an image without client certificate when the connection mode needs none", () => {
    const bare = encodeImage({ chain: [], trustedCa: contents.trustedCa, settings: { thingName: "t" } });
    const result = loadCredentials(recordingPlatform(), { resource: () => bare }, { order: ["resource"], requireClientCertificate: false });
    assert.ok(result.ok);
    assert.equal(result.value.clientKey.length, 0);
    assert.deepEqual(result.value.certificateChain, []);
  });

  it("decodes exactly the entries encoded, in order", async () => {
    const intermediate = await createRootCa({ subject: { commonName: "Another" } });
    const decoded = decodeContainer(encodeImage({ ...contents, trustedCa: [pki.serverCa.certDer, intermediate.certDer] }));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.trustedCa, [pki.serverCa.certDer, intermediate.certDer]);
  });
});
