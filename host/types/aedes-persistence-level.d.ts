// aedes-persistence-level ships no typings: it takes an abstract-level database (classic-level
// here) and returns an aedes persistence, which the broker only hands to aedes.
declare module "aedes-persistence-level" {
  const aedesPersistenceLevel: (db: object) => unknown;
  export default aedesPersistenceLevel;
}
