// The seam's UpdateSlot in the desktop simulator, which has no app partitions: as in the host
// runtimes, two files stand for the two slots and a boot record for what the bootloader knows
// (firmware/platform/update-record.ts), under the device's file root (`config.file.root`, which
// `npm run sim` points at the device's folder). "Booting" an image is the entry's restart in
// place, after which the firmware reports the version the image declares. Hashing and the
// signature check are the device's own (signature.ts): Moddable's Digest and ECDSA.

import { Directory, File } from "file";
import config from "mc/config";
import { Digest } from "crypt";
import { failure } from "../failure.js";
import type { UpdateSlot } from "../seam.js";
import { bootRecordSteps, EMPTY_RECORD, updateTarget, type BootRecord } from "../update-record.js";
import { buffer, verifySignature } from "./signature.js";

export function updateSlot(): UpdateSlot {
  const root = ((config.file as { root?: string } | undefined)?.root ?? "/tmp/") + "update/";
  const recordPath = root + "boot.json";
  const read = (): BootRecord => (File.exists(recordPath) ? JSON.parse(new File(recordPath).read(String)) as BootRecord : EMPTY_RECORD);
  const write = (record: BootRecord) => {
    File.delete(recordPath);
    const file = new File(recordPath, true);
    file.write(JSON.stringify(record));
    file.close();
  };
  const imagePath = () => root + updateTarget(read()) + ".bin";
  const steps = bootRecordSteps(read, write);
  let file: File | undefined;
  let digest = new Digest("SHA256");
  let size = 0;
  let written = 0;
  const abort = () => {
    file?.close();
    file = undefined;
  };
  return {
    open(bytes) {
      abort();
      try {
        Directory.create(root);
      } catch {
        // it exists
      }
      File.delete(imagePath());
      file = new File(imagePath(), true);
      digest = new Digest("SHA256");
      size = bytes;
      written = 0;
    },
    write(bytes) {
      if (!file || written + bytes.length > size) return failure("ota-slot", "the update slot is not open for these bytes");
      file.write(buffer(bytes));
      digest.write(buffer(bytes));
      written += bytes.length;
    },
    abort,
    digest: () => new Uint8Array(digest.close()),
    verify: verifySignature,
    activate() {
      abort();
      const image = new File(imagePath());
      const head = new Uint8Array(image.read(ArrayBuffer, 80));
      image.close();
      return steps.activate(head, written, size);
    },
    confirm: steps.confirm,
    rollback: steps.rollback,
    version: steps.version,
  };
}

export default updateSlot;
