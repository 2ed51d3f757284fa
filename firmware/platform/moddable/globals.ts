// Installs TextEncoder and TextDecoder as globals, as the firmware expects. main.ts imports this
// module first, so it runs before any firmware module that creates an encoder at load time.

import Encoder from "text/encoder";
import Decoder from "text/decoder";

const global = globalThis as { TextEncoder?: unknown; TextDecoder?: unknown };
global.TextEncoder ??= Encoder;
global.TextDecoder ??= Decoder;
