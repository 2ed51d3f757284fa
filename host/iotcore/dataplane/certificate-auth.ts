// The client-certificate authenticator (8883, and 443 with ALPN x-amzn-mqtt-ca): the leaf must
// be registered and ACTIVE (its CA, if any, ACTIVE too) and within its validity; its attached
// policies and things become the principal. Unknown leaves go to just-in-time provisioning.
import type { JustInTime } from "../provisioning/just-in-time.js";
import type { Registry } from "../registry/registry.js";
import { certificateId, parseCertificate, subjectFields } from "../registry/x509.js";
import type { Authenticator } from "./types.js";

export function certificateAuthenticator(deps: { registry: Registry; justInTime: JustInTime; now: () => number }): Authenticator {
  return async (attempt) => {
    const { registry, justInTime } = deps;
    const chain = attempt.peerCertificateChain;
    if (chain.length === 0) return { ok: false, refuse: "drop", reason: "no client certificate (this route authenticates by X.509 certificate)" };
    const id = certificateId(chain[0]);
    const record = registry.certificates.get(id);
    if (!record) return { ok: false, refuse: "drop", reason: justInTime.onUnknownCertificate(chain) };
    if (justInTime.inProgress(id)) return { ok: false, refuse: "drop", reason: `certificate ${id} is still being provisioned` };
    if (record.status !== "ACTIVE") return { ok: false, refuse: "drop", reason: `certificate ${id} is ${record.status}` };
    if (record.caCertificateId) {
      const ca = registry.cas.get(record.caCertificateId);
      if (ca && ca.status !== "ACTIVE") return { ok: false, refuse: "drop", reason: `certificate ${id}'s CA ${ca.certificateId} is ${ca.status}` };
    }
    const leaf = parseCertificate(chain[0]);
    const now = deps.now();
    if (!leaf || now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) {
      return { ok: false, refuse: "drop", reason: `certificate ${id} is outside its validity period` };
    }
    const things = registry.thingsOf(record.certificateArn);
    const policies = registry.policiesOf(record.certificateArn);
    return {
      ok: true,
      principal: {
        kind: "certificate",
        id,
        certificateId: id,
        policies: policies.map((p) => p.policyDocument),
        policyNames: policies.map((p) => p.policyName),
        // AWS resolves the thing from the client id: it must name a thing attached to the certificate.
        thingName: things.includes(attempt.clientId) ? attempt.clientId : undefined,
        subject: subjectFields(chain[0]),
      },
    };
  };
}
