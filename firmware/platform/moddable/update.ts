// The seam's UpdateSlot on ESP32 (docs/ota.md, "Moddable"): Moddable's `ota` module writes the
// app partition that is not running (esp_ota_begin with sequential writes, esp_ota_write; its
// `complete()` is esp_ota_end, which checks the image, then esp_ota_set_boot_partition); the
// `crypt` Digest hashes as blocks are written; signature.ts checks the signature. Moddable exposes neither esp_ota_mark_app_valid_cancel_rollback
// nor a way back to the previous partition, so `confirm` has nothing to do and `rollback`
// answers false (the firmware then keeps running the new image and says so).

import OTA from "ota";
import { Digest } from "crypt";
import { failure } from "../failure.js";
import type { UpdateSlot } from "../seam.js";
import { buffer, verifySignature } from "./signature.js";

export function updateSlot(): UpdateSlot {
  let ota: OTA | undefined;
  let digest = new Digest("SHA256");
  const attempt = (code: string, what: string, action: () => void) => {
    try {
      action();
    } catch (e) {
      return failure(code, `${what} (${String(e)})`);
    }
  };
  const abort = () => {
    ota?.cancel();
    ota = undefined;
  };
  return {
    open(size) {
      abort();
      digest = new Digest("SHA256");
      return attempt("ota-slot", `the update partition cannot take a ${size}-byte image`, () => (ota = new OTA()));
    },
    write(bytes) {
      return attempt("ota-slot", "writing the update partition failed", () => {
        ota!.write(buffer(bytes));
        digest.write(buffer(bytes));
      });
    },
    abort,
    digest: () => new Uint8Array(digest.close()),
    verify: verifySignature,
    activate() {
      const image = ota;
      ota = undefined;
      return attempt("ota-invalid-image", "the bootloader would not start the image", () => image!.complete());
    },
    confirm() {},
    rollback: () => false,
    version: () => undefined,
  };
}

export default updateSlot;
