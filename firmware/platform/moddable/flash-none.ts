// Platforms without a flash partition table (the desktop simulator): no partition source.

import type { PartitionReader } from "../../credentials/load.js";

/** Always undefined: the credentials come from Preference or a resource instead. */
export function flashPartition(_name: string): PartitionReader | undefined {
  return undefined;
}
