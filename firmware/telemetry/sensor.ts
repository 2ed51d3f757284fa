// Where readings come from. The board binds a real sensor; the host uses the simulated one.

import type { Failure } from "../platform/failure.js";

export type Readings = Record<string, number>;

export interface Sensor {
  /** Current readings, or a Failure when the sensor cannot be read (telemetry skips that sample). */
  read(): Readings | Failure;
}

/**
 * A temperature/humidity pair that wanders like a room would, driven by the platform's random
 * numbers so that tests can pin it. Never fails.
 */
export function simulatedSensor(random: () => number): Sensor {
  let temperature = 21 + random() * 2;
  let humidity = 40 + random() * 10;
  // A random step of at most step/2 either way, kept within [low, high].
  const wander = (value: number, step: number, low: number, high: number) => Math.min(high, Math.max(low, value + (random() - 0.5) * step));
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return {
    read() {
      temperature = wander(temperature, 0.4, -10, 50);
      humidity = wander(humidity, 1, 0, 100);
      return { temperature: round2(temperature), humidity: round2(humidity) };
    },
  };
}
