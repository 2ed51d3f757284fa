// The seam's Storage as one file per key in a directory: `<key>.txt` for strings, `<key>.bin`
// for bytes. Writes go through a temporary file and a rename so a crash never leaves half a value.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Storage } from "../../../firmware/platform/seam.js";

/** A Storage under `dir` (created if missing); fs errors other than "absent" throw. */
export function createFileStorage(dir: string): Storage {
  mkdirSync(dir, { recursive: true });
  const path = (key: string, ext: string) => join(dir, `${encodeURIComponent(key).replace(/\./g, "%2E")}.${ext}`);
  const read = (file: string): Buffer | undefined => {
    try {
      return readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  };
  return {
    get(key) {
      const bytes = read(path(key, "bin"));
      if (bytes) return new Uint8Array(bytes);
      return read(path(key, "txt"))?.toString("utf8");
    },
    set(key, value) {
      const isText = typeof value === "string";
      const file = path(key, isText ? "txt" : "bin");
      writeFileSync(`${file}.tmp`, value);
      renameSync(`${file}.tmp`, file);
      rmSync(path(key, isText ? "bin" : "txt"), { force: true });
    },
    remove(key) {
      rmSync(path(key, "bin"), { force: true });
      rmSync(path(key, "txt"), { force: true });
    },
  };
}
