// The seam's storage on Moddable's Preference (NVS on ESP32: keys <= 15 characters, values
// <= 4000 bytes, docs/moddable.md#storage; a JSON file in the desktop simulator). Bytes are kept as ArrayBuffers.

import Preference from "preference";
import type { Storage } from "../seam.js";

/** Storage in one Preference domain; `get` returns undefined for absent keys and for values that are neither text nor bytes. */
export function preferenceStorage(domain: string): Storage {
  return {
    get(key) {
      const value = Preference.get(domain, key);
      if (typeof value === "string") return value;
      if (value instanceof ArrayBuffer) return new Uint8Array(value);
      return undefined;
    },
    set(key, value) {
      Preference.set(domain, key, typeof value === "string" ? value : value.slice().buffer as ArrayBuffer);
    },
    remove(key) {
      Preference.delete(domain, key);
    },
  };
}
