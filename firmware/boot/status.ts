// What the device tells a person (and the host runtimes) about where it is.

export type DeviceState =
  | "booting"
  | "config-invalid"
  | "clock-unset"
  | "credentials-invalid"
  | "connecting"
  | "provisioning"
  | "online"
  | "reconnecting"
  | "takeover"
  | "refused"
  | "gave-up"
  | "stopped";

export interface DeviceStatus {
  state: DeviceState;
  /** Stable kebab-case code of the failure behind this state, if any. */
  code?: string;
  /** One sentence for a person; never key material. */
  message: string;
  /** Connection attempts since boot. */
  attempts: number;
}

/** States from which the device does nothing more until restarted. */
const FINAL_STATES: readonly DeviceState[] = ["config-invalid", "clock-unset", "credentials-invalid", "refused", "gave-up", "stopped"];

export function isFinal(state: DeviceState): boolean {
  return FINAL_STATES.includes(state);
}
