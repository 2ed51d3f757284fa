// ESP-IDF app images for tests and demos, declaring a version where the host runtimes and the
// simulator read it to "boot" an OTA image (firmware/platform/update-record.ts, docs/ota.md).

export { appImageVersion } from "../../firmware/platform/update-record.js";

const IMAGE_MAGIC = 0xe9;
const DESC_OFFSET = 32;
const DESC_MAGIC = 0xabcd5432;
const VERSION_OFFSET = DESC_OFFSET + 16;
const VERSION_LENGTH = 32;

/** An app image of `size` bytes declaring `version` (at most 31 bytes), the rest a pattern that `seed` varies. */
export function appImage(version: string, size: number, seed = 1): Uint8Array {
  const image = new Uint8Array(size);
  for (let i = 0; i < size; i++) image[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  const versionBytes = new TextEncoder().encode(version);
  if (versionBytes.length >= VERSION_LENGTH || size < VERSION_OFFSET + VERSION_LENGTH) throw new Error("version too long or image too small");
  image[0] = IMAGE_MAGIC;
  new DataView(image.buffer).setUint32(DESC_OFFSET, DESC_MAGIC, true);
  image.fill(0, VERSION_OFFSET, VERSION_OFFSET + VERSION_LENGTH);
  image.set(versionBytes, VERSION_OFFSET);
  return image;
}
