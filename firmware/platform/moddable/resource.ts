// Resource lookup on Moddable's Resource (files the manifest bakes into the image).

import Resource from "Resource";
import type { ResourceLookup } from "../../credentials/load.js";

/** The resource's bytes, read in place (no copy); undefined when the image has no such resource. */
export const resourceLookup: ResourceLookup = (name) => {
  if (!Resource.exists(name)) return undefined;
  return new Uint8Array(new Resource(name) as unknown as ArrayBuffer);
};
