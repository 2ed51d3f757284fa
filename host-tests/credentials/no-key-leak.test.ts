// Every line the credentials code and the certs CLI emit, and every failure message, on success
// and on each failure path, is checked for the device private key in any encoding.

import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../certs/cli.js";
import { layout, loadDevice } from "../../certs/commands.js";
import { encodeImage, partitionImage, preferenceEntries } from "../../certs/image.js";
import { issueCertificate } from "../../certs/pki.js";
import { decodeContainer } from "../../firmware/credentials/container.js";
import { loadCredentials } from "../../firmware/credentials/load.js";
import { makePki, MemoryStorage, partitionOf, recordingPlatform } from "./fixtures.js";

/** Hex (both cases), base64, base64url, PEM lines and latin1 renderings of every 12-byte window of the key. */
function keyFingerprints(key: Uint8Array): string[] {
  const out: string[] = [];
  const buf = Buffer.from(key);
  for (let i = 0; i + 12 <= buf.length; i += 3) {
    const w = buf.subarray(i, i + 12);
    out.push(w.toString("hex"), w.toString("hex").toUpperCase(), w.toString("latin1"));
  }
  const b64 = buf.toString("base64");
  for (let i = 0; i + 16 <= b64.length; i += 4) out.push(b64.slice(i, i + 16));
  const b64url = buf.toString("base64url");
  for (let i = 0; i + 16 <= b64url.length; i += 4) out.push(b64url.slice(i, i + 16));
  // PKCS#1 form of the same key, in case something converts before printing
  const pkcs1 = createPrivateKey({ key: buf, format: "der", type: "pkcs8" }).export({ type: "pkcs1", format: "der" }).toString("base64");
  for (let i = 0; i + 16 <= pkcs1.length; i += 4) out.push(pkcs1.slice(i, i + 16));
  return out;
}

describe("private key confidentiality", () => {
  let dir: string;
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("no log line, CLI output, failure message or serialized result contains key bytes in any encoding", async () => {
    dir = mkdtempSync(join(tmpdir(), "no-key-leak-"));
    const texts: string[] = [];
    const capture = (l: string) => void texts.push(l);
    const cli = (...argv: string[]) => main([...argv, "--out-dir", dir], capture, capture);

    // every CLI command, successful and failing
    await cli("ca");
    await cli("device", "--thing-name", "leak-1", "--country", "US");
    await cli("device", "--thing-name", "leak-2", "--key-type", "ec");
    await cli("template", "--account-id", "123456789012");
    await cli("verification", "--registration-code", "abc123");
    await cli("authorizer-keys");
    await cli("sign-token", "--token", "t");
    const files = layout(dir);
    for (const command of ["image", "preference", "resources"]) {
      await cli(command, "--thing-name", "leak-1", "--trusted-ca", files.caPem, "--endpoint", "e");
      await cli(command, "--thing-name", "leak-1");
    }
    await cli("device", "--help");
    const device = loadDevice("leak-1", dir);
    const key = device.key.privateKeyDer;

    // every loader path: each source, success, container damage, validation failures
    const pki = await makePki();
    const contents = { key, chain: [device.certDer], trustedCa: [pki.serverCa.certDer], settings: { thingName: "leak-1" } };
    const image = encodeImage(contents);
    const expired = await issueCertificate({ issuer: pki.ca, kind: "client", key: device.key, subject: { commonName: "leak-1" }, notBefore: new Date(Date.now() - 9e8), notAfter: new Date(Date.now() - 1e8) });
    // The image writer refuses a key of another certificate and a malformed key, naming the
    // firmware's code; its sentence must not show the key either.
    for (const bad of [pki.other.privateKeyDer, key.slice(0, key.length - 1)]) {
      try {
        encodeImage({ ...contents, key: bad });
        assert.fail("the image writer accepted a key that is not the certificate's");
      } catch (e) {
        texts.push(String(e), JSON.stringify(e));
      }
    }
    const images = [
      image,
      encodeImage({ ...contents, chain: [expired.certDer] }),
      encodeImage({ ...contents, trustedCa: [] }),
    ];
    for (let i = 0; i < image.length; i += 97) {
      const bad = image.slice();
      bad[i] ^= 0x20;
      images.push(bad, image.subarray(0, i));
    }
    for (const bytes of images) {
      for (const clockMs of [Date.now(), null]) {
        const platform = recordingPlatform(clockMs, new MemoryStorage());
        for (const { key: k, value } of preferenceEntries(bytes)) platform.storage.set(k, value);
        for (const order of [["partition"], ["preference"], ["resource"]] as const) {
          const result = loadCredentials(platform, { partition: partitionOf(partitionImage(bytes, 16384)), resource: () => bytes }, { order: [...order] });
          texts.push(JSON.stringify(result), String(result.ok ? result.value : result.failure.message));
        }
        texts.push(...platform.lines);
      }
      const decoded = decodeContainer(bytes);
      if (!decoded.ok) texts.push(decoded.failure.message);
    }

    const all = texts.join("\n");
    assert.ok(texts.length > 100, "the paths above produced output to check");
    assert.ok(all.includes("credentials-key-mismatch") && all.includes("credentials-expired") && all.includes("clock-unset"), "failure paths were exercised");
    for (const fingerprint of keyFingerprints(key)) {
      assert.ok(!all.includes(fingerprint), "a rendering of the private key appeared in output");
    }
    // the check itself can fail: the key's PEM body would be caught
    assert.ok(keyFingerprints(key).some((f) => device.key.privateKeyPem.replace(/\n/g, "").includes(f)));
  });
});
