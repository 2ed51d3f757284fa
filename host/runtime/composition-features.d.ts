// The features a manifest names, as host/runtime/composition.ts serves them to a bundle.
declare module "composition:features" {
  export const features: readonly import("../../firmware/features/feature.js").Feature[];
}
