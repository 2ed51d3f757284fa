// The fleet provisioning feature module (manifest `features/fleet`): provisioning by claim
// (firmware/features/fleet/). It owns the device's identity: before each network start it picks the
// claim or the device's own credentials; on the claim's session it provisions, then restarts
// the network with the new certificate.

import type { Credentials } from "../credentials/load.js";
import { chooseCredentials, startFleet, type FleetSettings } from "./fleet/provisioning.js";
import type { Feature } from "./feature.js";

let claim: Credentials | undefined;

const fleet: Feature = {
  name: "fleet",
  settings: {
    templateName: ["", 36],
    serialNumber: ["", 64],
    parameters: [{}, "object"],
    answerTimeoutMs: [10_000, [1000, 600_000]],
  },
  credentials(loaded, platform, settings) {
    const choice = chooseCredentials(loaded, platform, settings as unknown as FleetSettings);
    claim = choice.ok && choice.value.exclusive ? choice.value.credentials : undefined;
    return choice;
  },
  start(context) {
    const settings: FleetSettings = {
      templateName: context.setting("templateName") as string,
      serialNumber: context.setting("serialNumber") as string,
      parameters: context.setting("parameters") as Record<string, unknown>,
      answerTimeoutMs: context.setting("answerTimeoutMs") as number,
    };
    return startFleet(context, settings, claim);
  },
};

export default fleet;
