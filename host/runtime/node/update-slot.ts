// The seam's UpdateSlot on the host: two image files standing for ESP32's two app slots
// (`ota_0.bin`, `ota_1.bin`) and `boot.json` for what the bootloader would know (the slot that
// boots, the previous one, whether the running image awaits confirmation). "Booting" an image
// means the host runtime starts the firmware again reporting the version the image declares
// (host/runtime/app-image.ts): the whole OTA flow runs on the host. Hashing and signature checks
// use node:crypto over the image as written.

import { createHash, verify, X509Certificate, type Hash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { failure } from "../../../firmware/platform/failure.js";
import type { UpdateSlot } from "../../../firmware/platform/seam.js";
import { bootRecordSteps, EMPTY_RECORD, updateTarget, type BootRecord } from "../../../firmware/platform/update-record.js";

/** The largest image a slot takes (ESP32's app slots in manifests/esp32/partitions.csv: 0x1F0000). */
export const SLOT_SIZE = 0x1f0000;

/** An UpdateSlot keeping its files under `dir` (created when missing). */
export function createFileUpdateSlot(dir: string): UpdateSlot & { readonly dir: string } {
  mkdirSync(dir, { recursive: true });
  const recordFile = join(dir, "boot.json");
  const read = (): BootRecord => existsSync(recordFile) ? JSON.parse(readFileSync(recordFile, "utf8")) as BootRecord : EMPTY_RECORD;
  const write = (record: BootRecord) => {
    writeFileSync(recordFile + ".tmp", JSON.stringify(record));
    renameSync(recordFile + ".tmp", recordFile);
  };
  const target = () => updateTarget(read());
  const steps = bootRecordSteps(read, write);
  let fd: number | undefined;
  let hash: Hash | undefined;
  let size = 0;
  let written = 0;
  const close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return {
    dir,
    open(bytes) {
      close();
      if (bytes > SLOT_SIZE) return failure("ota-slot", `the image (${bytes} bytes) is larger than the update slot (${SLOT_SIZE} bytes)`);
      fd = openSync(join(dir, target() + ".bin"), "w");
      hash = createHash("sha256");
      size = bytes;
      written = 0;
    },
    write(bytes) {
      if (fd === undefined || written + bytes.length > size) return failure("ota-slot", "the update slot is not open for these bytes");
      writeSync(fd, bytes);
      hash!.update(bytes);
      written += bytes.length;
    },
    abort() {
      close();
      rmSync(join(dir, target() + ".bin"), { force: true });
    },
    digest: () => new Uint8Array(hash!.copy().digest()),
    verify(certificate, digest, signature) {
      try {
        const key = new X509Certificate(certificate).publicKey;
        if (key.asymmetricKeyDetails?.namedCurve !== "prime256v1") return false;
        // node:crypto signs and verifies messages, not digests: check the image the digest is of.
        const image = readFileSync(join(dir, target() + ".bin"));
        return Buffer.from(digest).equals(createHash("sha256").update(image).digest()) && verify("sha256", image, { key, dsaEncoding: "der" }, signature);
      } catch {
        return false;
      }
    },
    activate() {
      close();
      const slot = target();
      const head = Buffer.alloc(80);
      const file = openSync(join(dir, slot + ".bin"), "r");
      readSync(file, head, 0, 80, 0);
      closeSync(file);
      return steps.activate(head, written, size);
    },
    confirm: steps.confirm,
    rollback: steps.rollback,
    version: steps.version,
  };
}
