// The ESP32 application image facts the host runtimes use to "boot" an OTA image: an ESP-IDF app
// image starts with the image header's magic byte 0xE9, and its first segment begins with the
// application description (esp_app_desc_t: magic word 0xABCD5432, then the version string at
// offset 16, 32 bytes) right after the 24-byte image header and the 8-byte segment header
// (docs/ota.md, "What the host runtimes boot"). `appImage` makes such an image for tests and demos.

const IMAGE_MAGIC = 0xe9;
const DESC_OFFSET = 32;
const DESC_MAGIC = 0xabcd5432;
const VERSION_OFFSET = DESC_OFFSET + 16;
const VERSION_LENGTH = 32;

/** The version an app image declares, or undefined when `head` (its first 80 bytes or more) is not an ESP-IDF app image. */
export function appImageVersion(head: Uint8Array): string | undefined {
  if (head.length < VERSION_OFFSET + VERSION_LENGTH || head[0] !== IMAGE_MAGIC) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(DESC_OFFSET, true) !== DESC_MAGIC) return undefined;
  const field = head.subarray(VERSION_OFFSET, VERSION_OFFSET + VERSION_LENGTH);
  const end = field.indexOf(0);
  const version = new TextDecoder().decode(field.subarray(0, end < 0 ? VERSION_LENGTH : end));
  return version || undefined;
}

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
