// Guest for bridge.test.ts: exercises every seam call through the XS bridge.
import { createXsPlatform, exposeCalls, report } from "../../../host/runtime/xs/guest/bridge.js";

const platform = createXsPlatform();
const encoder = new TextEncoder();
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
let fired: string[] = [];

exposeCalls({
  seam() {
    platform.storage.set("text", "hello");
    platform.storage.set("bytes", Uint8Array.of(0, 1, 255));
    const bytes = platform.storage.get("bytes") as Uint8Array;
    platform.storage.remove("text");
    platform.log("a line from XS");
    return {
      result: {
        now: platform.clock.now(),
        isSet: platform.clock.isSet(),
        random: platform.random(),
        text: platform.storage.get("text") ?? null,
        bytes: Array.from(bytes),
        sha256: hex(platform.crypto.sha256(encoder.encode("abc"))),
        sha1: hex(platform.crypto.sha1(encoder.encode("abc"))),
        hmac: hex(platform.crypto.hmacSha256(encoder.encode("key"), encoder.encode("The quick brown fox jumps over the lazy dog"))),
      },
    };
  },
  builtins() {
    const ab = (ArrayBuffer as unknown as { fromString(s: string): ArrayBuffer }).fromString("héllo");
    const back = (String as unknown as { fromArrayBuffer(b: ArrayBuffer): string }).fromArrayBuffer(ab);
    return { result: { length: ab.byteLength, back, node: typeof (globalThis as { process?: unknown }).process } };
  },
  timers(args) {
    fired = [];
    const names = args.names as string[];
    const delays = args.delays as number[];
    const handles = names.map((name, i) => platform.timers.setTimeout(() => {
      fired.push(name);
      report("fired", { name, at: platform.clock.now() });
    }, delays[i]));
    platform.timers.clearTimeout(handles[args.cancel as number]);
    return {};
  },
  fired: () => ({ result: fired }),
  echo: (_args, parts) => ({ parts: parts.map((p) => p.slice().reverse()) }),
  throws() {
    throw new Error("thrown on purpose inside XS");
  },
  throwsLater() {
    platform.timers.setTimeout(() => {
      throw new Error("thrown by a timer inside XS");
    }, 10);
    return {};
  },
});
