// The seam's crypto on Moddable's `crypt` Digest and the `hmac` module its TLS stack brings in.

import { Digest } from "crypt";
import HMAC from "hmac";
import type { Crypto } from "../seam.js";

// Digest accepts any byte view; its typings say ArrayBuffer only.
const bytes = (data: Uint8Array) => data as unknown as ArrayBuffer;

export const crypto: Crypto = {
  sha256(data) {
    const digest = new Digest("SHA256");
    digest.write(bytes(data));
    return new Uint8Array(digest.close());
  },
  sha1(data) {
    const digest = new Digest("SHA1");
    digest.write(bytes(data));
    return new Uint8Array(digest.close());
  },
  hmacSha256(key, data) {
    return new Uint8Array(new HMAC(new Digest("SHA256"), bytes(key)).process(bytes(data)));
  },
};
