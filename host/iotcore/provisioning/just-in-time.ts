// Just-in-time registration and provisioning. A certificate the registry does not know, sent
// with a registered CA that allows auto-registration, is registered PENDING_ACTIVATION and
// its connection dropped; after the provisioning delay either the CA's template runs (JITP:
// thing, ACTIVE certificate, policy) or the registration event is published (JITR), so that
// a rule or an operator activates it.
import type { CaRecord, CertificateRecord, Registry } from "../registry/registry.js";
import { certificateId, isIssuedBy, parseCertificate, subjectFields } from "../registry/x509.js";
import { applyPlan } from "./apply.js";
import { evaluateTemplate } from "./template.js";
import { fromPem, toPem } from "../../../certs/pki.js";
import type { RateWindow } from "../dataplane/quotas.js";

export interface JustInTimeOptions {
  registry: Registry;
  delayMs: number;
  now: () => number;
  log: (line: string) => void;
  /** publishes on a reserved topic, bypassing publish authorization */
  publish: (topic: string, payload: string) => Promise<void>;
  /** the account's RegisterThing rate, which JITP and JITR registrations draw on (docs/fleet.md#account-limits); unlimited when absent */
  registrations?: RateWindow;
}

export class JustInTime {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: JustInTimeOptions) {}

  /** True while the certificate's provisioning work is still running. */
  inProgress(id: string): boolean {
    return this.inFlight.has(id);
  }

  /** Resolves when every provisioning job started so far has finished. */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  cancel(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * Handles a connection with an unregistered leaf certificate (chain: leaf first). Returns
   * the reason the connection is refused; when auto-registration applies it has started.
   */
  onUnknownCertificate(chain: Buffer[]): string {
    const { registry } = this.options;
    const leaf = parseCertificate(chain[0]);
    const id = certificateId(chain[0]);
    if (!leaf) return "the client certificate does not parse";
    const ca = this.registeredIssuer(chain);
    if (!ca) {
      const known = registry.cas.list().find((c) => {
        const der = fromPem(c.certificatePem)[0];
        const cert = der && parseCertificate(der);
        return cert && isIssuedBy(leaf, cert);
      });
      return known
        ? `certificate ${id} is not registered and the device did not send CA ${known.certificateId} with it (send the device certificate chained with its CA)`
        : `certificate ${id} is not registered and no registered CA issued it`;
    }
    if (ca.status !== "ACTIVE") return `certificate ${id} is not registered and its CA ${ca.certificateId} is ${ca.status}`;
    if (ca.autoRegistrationStatus !== "ENABLE") return `certificate ${id} is not registered and CA ${ca.certificateId} does not allow auto-registration`;
    const kind = ca.registrationConfig?.templateBody ? "JITP" : "JITR";
    // Over the account's RegisterThing rate AWS's provisioning call is throttled. The stand-in
    // then leaves the certificate unknown, so the device's next connect starts over (its own
    // guess: docs/iotcore-compatibility.md).
    if (this.options.registrations && !this.options.registrations.tryTake(1, this.options.now())) {
      return `certificate ${id}: ${kind} throttled (over the account's ${this.options.registrations.capacity} provisioning requests per second); not registered, connect again later`;
    }
    const record = registry.registerCertificate({
      certificatePem: toPem("CERTIFICATE", chain[0]), status: "PENDING_ACTIVATION", caCertificateId: ca.certificateId, origin: kind === "JITP" ? "jitp" : "jitr",
    });
    this.options.log(`${kind.toLowerCase()}: certificate ${id} auto-registered PENDING_ACTIVATION (CA ${ca.certificateId}); ${kind} runs in ${this.options.delayMs} ms`);
    this.schedule(id, () => (kind === "JITP" ? this.provision(record, ca, chain[0]) : this.announce(record)));
    return `certificate ${id} was just auto-registered PENDING_ACTIVATION; ${kind} in progress, connect again later`;
  }

  private registeredIssuer(chain: Buffer[]): CaRecord | undefined {
    const leaf = parseCertificate(chain[0])!;
    for (const der of chain.slice(1)) {
      const ca = this.options.registry.cas.get(certificateId(der));
      const cert = parseCertificate(der);
      if (ca && cert && isIssuedBy(leaf, cert)) return ca;
    }
    return undefined;
  }

  private schedule(id: string, work: () => Promise<void> | void): void {
    const job = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        Promise.resolve().then(work).catch((error: Error) => this.options.log(`provisioning of ${id} failed: ${error.message}`)).finally(resolve);
      }, this.options.delayMs);
      this.timers.add(timer);
    }).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, job);
  }

  /** JITR: publishes `$aws/events/certificates/registered/<caCertificateId>` with AWS's fields. */
  private async announce(record: CertificateRecord): Promise<void> {
    const topic = `$aws/events/certificates/registered/${record.caCertificateId}`;
    const event = {
      certificateId: record.certificateId,
      caCertificateId: record.caCertificateId,
      timestamp: this.options.now(),
      certificateStatus: "PENDING_ACTIVATION",
      awsAccountId: this.options.registry.accountId,
      certificateRegistrationTimestamp: record.creationDate,
    };
    await this.options.publish(topic, JSON.stringify(event));
    this.options.log(`jitr: published ${topic} for certificate ${record.certificateId}; it stays PENDING_ACTIVATION until activated`);
  }

  /** JITP: evaluates the CA's template and applies it; a failure leaves the certificate PENDING_ACTIVATION. */
  private provision(record: CertificateRecord, ca: CaRecord, leafDer: Buffer): void {
    const id = record.certificateId;
    const parameters = { ...subjectFields(leafDer), Id: id };
    const result = evaluateTemplate(ca.registrationConfig?.templateBody ?? "", parameters);
    if (!result.ok) {
      const field = result.missingParameter ? ` (the certificate subject lacks ${result.missingParameter})` : "";
      this.options.log(`jitp failed: certificate ${id} stays PENDING_ACTIVATION: ${result.reason}${field}`);
      return;
    }
    try {
      const { summary } = applyPlan(this.options.registry, result.plan, record);
      this.options.log(`jitp: certificate ${id} provisioned: ${summary}`);
    } catch (error) {
      this.options.log(`jitp failed: certificate ${id} stays PENDING_ACTIVATION: ${(error as Error).message}`);
    }
  }
}
