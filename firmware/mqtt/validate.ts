// The limits AWS IoT Core enforces on a device (docs/aws-iot-core.md#quotas), checked before
// anything reaches the wire: AWS answers a violation by dropping the connection, which a
// device cannot tell apart from a network fault.

import { failure, type Failure } from "../platform/failure.js";
import { encoder } from "./encode.js";

export const MAX_CLIENT_ID_BYTES = 128;
export const MAX_TOPIC_BYTES = 256;
export const MAX_TOPIC_SLASHES = 7;
export const MAX_PAYLOAD_BYTES = 128 * 1024;
export const MAX_FILTERS_PER_SUBSCRIBE = 8;
export const MAX_SUBSCRIPTIONS = 50;
export const MAX_IN_FLIGHT = 100;

/** Returns undefined when `id` is 1..128 UTF-8 bytes and does not start with `$`; else "mqtt-invalid-client-id". */
export function checkClientId(id: string): Failure | undefined {
  const n = encoder.encode(id).length;
  if (!n || n > MAX_CLIENT_ID_BYTES || id[0] === "$") {
    return failure("mqtt-invalid-client-id", `client id "${id}": use 1-${MAX_CLIENT_ID_BYTES} bytes, no leading $`);
  }
  return undefined;
}

/**
 * Checks a topic name (`wildcards` false, for PUBLISH and the will) or a topic filter
 * (`wildcards` true, for SUBSCRIBE). Returns the topic's UTF-8 bytes, or a Failure
 * "mqtt-invalid-topic" naming the broken rule.
 */
export function checkTopic(topic: string, wildcards: boolean): Uint8Array | Failure {
  const bytes = encoder.encode(topic);
  const levels = topic.split("/");
  const last = levels.length - 1;
  let why: string | undefined;
  if (!bytes.length || bytes.length > MAX_TOPIC_BYTES) why = `1-${MAX_TOPIC_BYTES} bytes`;
  else if (last > MAX_TOPIC_SLASHES) why = `at most ${MAX_TOPIC_SLASHES} slashes`;
  else if (topic.includes("\u0000")) why = "no NUL";
  // A filter's + and # stand for whole levels, # for the last one only.
  else if (levels.some((level, i) => /[+#]/.test(level) && (!wildcards || level.length > 1 || (level === "#" && i < last)))) {
    why = wildcards ? "+ and # only as whole levels, # last" : "no + or # in a publish topic";
  }
  return why ? failure("mqtt-invalid-topic", `topic "${topic}": use ${why}`) : bytes;
}

/** Returns undefined when the payload fits AWS's 128 KB limit; else "mqtt-payload-too-large". */
export function checkPayload(payload: Uint8Array): Failure | undefined {
  if (payload.length > MAX_PAYLOAD_BYTES) {
    return failure("mqtt-payload-too-large", `payload over ${MAX_PAYLOAD_BYTES} bytes; split it`);
  }
  return undefined;
}
