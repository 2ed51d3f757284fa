// Restarts an ESP32: Moddable's ECMA-419 `System.restart()` (modules/io/system: esp_restart),
// which manifests/features/jobs.json brings in for esp32 builds. The device boots again from
// the boot partition, Preference (NVS) kept: after OTA's activation, into the new image.

declare const System: { restart(): void };

export default function restart(): void {
  System.restart();
}
