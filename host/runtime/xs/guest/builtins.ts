// Moddable XS built-ins that the device has and xsnap lacks, so code written for the board
// (and Moddable's own modules, for the reference benchmark) runs unchanged here.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function define(target: object, name: string, value: unknown): void {
  if (!(name in target)) Object.defineProperty(target, name, { value, writable: true, configurable: true });
}

/** ArrayBuffer.fromString(text): the UTF-8 bytes of `text` in a fresh ArrayBuffer. */
define(ArrayBuffer, "fromString", (text: string): ArrayBuffer => encoder.encode(String(text)).buffer as ArrayBuffer);

/** String.fromArrayBuffer(buffer): the text of UTF-8 bytes. */
define(String, "fromArrayBuffer", (buffer: ArrayBuffer): string => decoder.decode(new Uint8Array(buffer)));

// Moddable's `trace` writes to the debugger console; here it goes to the host's log.
define(globalThis, "trace", (...text: unknown[]): void => {
  (globalThis as unknown as { print(...t: unknown[]): void }).print(text.join("").replace(/\n$/, ""));
});
