// Mode mtls-alpn: MQTT over TLS on 443 with the device's X.509 certificate and ALPN
// `x-amzn-mqtt-ca`. A device built with manifests/modes/mtls-alpn.json carries this mode only.

import { certificateMode } from "./stream.js";

export const modes = [certificateMode("mtls-alpn", 443, "x-amzn-mqtt-ca")];
