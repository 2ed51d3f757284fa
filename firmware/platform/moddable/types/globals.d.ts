// Globals the firmware uses that neither the ES library nor the SDK's global typings declare
// under mcconfig: TextEncoder and TextDecoder. globals.ts installs them from Moddable's
// text/encoder and text/decoder modules. (The SDK declares them only in mcpack.d.ts, which an
// mcconfig build does not load.)

declare var TextEncoder: typeof import("text/encoder").default;
declare var TextDecoder: typeof import("text/decoder").default;
