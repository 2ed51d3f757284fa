// `npm start`: the main job. The demo (stand-in + a fresh device through JITP into telemetry)
// is not wired yet.
console.log("npm start: not yet: the JITP-to-telemetry demo is being built; run `npm test` meanwhile.");
