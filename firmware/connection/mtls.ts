// Mode mtls: MQTT over TLS on 8883 with the device's X.509 certificate. A device built with
// manifests/modes/mtls.json carries this mode only (the manifest maps `connection/mode` here).

import { certificateMode } from "./stream.js";

export const modes = [certificateMode("mtls", 8883)];
