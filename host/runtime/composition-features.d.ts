// The features a manifest names (and the feature runtime with them), as host/runtime/composition.ts serves them to a bundle.
declare module "composition:features" {
  export const features: readonly import("../../firmware/features/feature.js").Feature[];
  /** The feature runtime, undefined in a build without features. */
  export const startFeatures: import("../../firmware/features/feature.js").StartFeatures | undefined;
}
