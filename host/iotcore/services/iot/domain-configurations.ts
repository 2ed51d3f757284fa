// Domain configurations: a custom domain served by the 443/8883 listeners with its own server
// certificate, chosen by SNI, and an optional default custom authorizer. Also the stand-in's
// small certificate manager (what ACM is for AWS): server certificates referred to by ARN.

import { randomUUID, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import type { Collection } from "../../registry/collection.js";
import { AwsError, notFound } from "../../registry/errors.js";
import type { OperationInput } from "../../control/server.js";

export interface AuthorizerConfig { defaultAuthorizerName?: string; allowAuthorizerOverride?: boolean }

export interface DomainConfigurationRecord {
  domainConfigurationName: string;
  domainConfigurationArn: string;
  domainName: string;
  serverCertificateArns: string[];
  authorizerConfig?: AuthorizerConfig;
  domainConfigurationStatus: "ENABLED" | "DISABLED";
  serviceType: "DATA";
  domainType: "CUSTOMER_MANAGED" | "AWS_MANAGED";
  lastStatusChangeDate: number;   // epoch seconds
}

export interface ServerCertificateRecord {
  certificateArn: string;
  certificatePem: string;
  /** Kept in the stand-in's state directory only; never logged. */
  privateKeyPem: string;
  chainPem?: string;
}

export interface DomainHost {
  configurations: Collection<DomainConfigurationRecord>;
  certificates: Collection<ServerCertificateRecord>;
  region: string;
  accountId: string;
  arn(resource: string): string;
  /** Issues a certificate for `names` from the stand-in's server CA (devices trust that CA). */
  issueServerCertificate(names: string[]): Promise<{ certificatePem: string; privateKeyPem: string; chainPem?: string }>;
  nowMs(): number;
  log(line: string): void;
}

export class DomainConfigurations {
  constructor(private readonly host: DomainHost) {}

  /** Stores a server certificate and key (PEM) and returns its ARN; throws AwsError if unusable. */
  importCertificate(input: { certificatePem: string; privateKeyPem: string; chainPem?: string }): string {
    try {
      createSecureContext({ cert: input.certificatePem + (input.chainPem ?? ""), key: input.privateKeyPem });
    } catch (error) {
      throw new AwsError("InvalidRequestException", `server certificate or key is not usable: ${(error as Error).message}`);
    }
    const certificateArn = `arn:aws:acm:${this.host.region}:${this.host.accountId}:certificate/${randomUUID()}`;
    this.host.certificates.put(certificateArn, { certificateArn, ...input });
    return certificateArn;
  }

  /** ARNs of the domain configurations using a server certificate (ACM's InUseBy). */
  using(certificateArn: string): string[] {
    return this.host.configurations.list().filter((d) => d.serverCertificateArns.includes(certificateArn)).map((d) => d.domainConfigurationArn);
  }

  /** The enabled configuration serving `serverName` (case-insensitive), if any. */
  forServerName(serverName: string | undefined): DomainConfigurationRecord | undefined {
    if (!serverName) return undefined;
    const name = serverName.toLowerCase();
    return this.host.configurations.list().find((d) => d.domainConfigurationStatus === "ENABLED" && d.domainName === name);
  }

  /** Every enabled custom domain with the certificate it is served with. */
  served(): { domainName: string; certificate: ServerCertificateRecord }[] {
    return this.host.configurations.list().flatMap((d) => {
      const certificate = this.host.certificates.get(d.serverCertificateArns[0] ?? "");
      return d.domainConfigurationStatus === "ENABLED" && certificate ? [{ domainName: d.domainName, certificate }] : [];
    });
  }

  /** Control-plane operations keyed by the IoT model's operation names; raise AwsError. */
  operations(): Record<string, (input: OperationInput) => Promise<unknown>> {
    return {
      CreateDomainConfiguration: (input) => this.create(input),
      UpdateDomainConfiguration: async (input) => this.update(input),
      DescribeDomainConfiguration: async ({ domainConfigurationName }) => this.describe(this.require(domainConfigurationName)),
      ListDomainConfigurations: async () => ({
        domainConfigurations: this.host.configurations.list().map((d) => ({
          domainConfigurationName: d.domainConfigurationName, domainConfigurationArn: d.domainConfigurationArn, serviceType: d.serviceType,
        })),
      }),
      DeleteDomainConfiguration: async ({ domainConfigurationName }) => {
        const d = this.require(domainConfigurationName);
        if (d.domainConfigurationStatus === "ENABLED") throw new AwsError("InvalidRequestException", `domain configuration ${d.domainConfigurationName} is ENABLED: disable it before deleting it`);
        this.host.configurations.delete(d.domainConfigurationName);
        return {};
      },
    };
  }

  private async create(input: OperationInput) {
    const name = String(input.domainConfigurationName ?? "");
    if (!/^[\w.:-]{1,128}$/.test(name)) throw new AwsError("InvalidRequestException", `domainConfigurationName '${name}' must be 1-128 of [\\w.:-]`);
    if (this.host.configurations.has(name)) throw new AwsError("ResourceAlreadyExistsException", `domain configuration ${name} already exists`);
    if (input.serviceType !== undefined && input.serviceType !== "DATA") throw new AwsError("InvalidRequestException", "only serviceType DATA is served by this endpoint");
    const domainName = String(input.domainName ?? "").toLowerCase();
    if (!/^[a-z0-9.-]{1,253}$/.test(domainName)) throw new AwsError("InvalidRequestException", "domainName is required: this endpoint serves custom domains only");
    if (this.host.configurations.list().some((d) => d.domainName === domainName)) {
      throw new AwsError("ResourceAlreadyExistsException", `domain ${domainName} is already used by another domain configuration`);
    }
    const arns: string[] = Array.isArray(input.serverCertificateArns) ? input.serverCertificateArns.map(String) : [];
    if (arns.length === 0) arns.push(this.importCertificate(await this.host.issueServerCertificate([domainName])));
    for (const arn of arns) this.requireCertificateFor(arn, domainName);
    const record: DomainConfigurationRecord = {
      domainConfigurationName: name,
      domainConfigurationArn: this.host.arn(`domainconfiguration/${name}/${randomUUID().slice(0, 5)}`),
      domainName, serverCertificateArns: arns,
      ...(input.authorizerConfig ? { authorizerConfig: authorizerConfigOf(input.authorizerConfig) } : {}),
      domainConfigurationStatus: "ENABLED", serviceType: "DATA", domainType: "CUSTOMER_MANAGED",
      lastStatusChangeDate: Math.floor(this.host.nowMs() / 1000),
    };
    this.host.configurations.put(name, record);
    this.host.log(`domain ${domainName}: served by configuration ${name} (default authorizer ${record.authorizerConfig?.defaultAuthorizerName ?? "none"})`);
    return { domainConfigurationName: name, domainConfigurationArn: record.domainConfigurationArn };
  }

  private update(input: OperationInput) {
    const current = this.require(input.domainConfigurationName);
    const next: DomainConfigurationRecord = { ...current };
    if (input.removeAuthorizerConfig === true) delete next.authorizerConfig;
    else if (input.authorizerConfig) next.authorizerConfig = authorizerConfigOf(input.authorizerConfig);
    if (input.domainConfigurationStatus === "ENABLED" || input.domainConfigurationStatus === "DISABLED") {
      if (next.domainConfigurationStatus !== input.domainConfigurationStatus) next.lastStatusChangeDate = Math.floor(this.host.nowMs() / 1000);
      next.domainConfigurationStatus = input.domainConfigurationStatus;
    }
    this.host.configurations.put(current.domainConfigurationName, next);
    this.host.log(`domain ${next.domainName}: configuration ${next.domainConfigurationName} updated (${next.domainConfigurationStatus}, default authorizer ${next.authorizerConfig?.defaultAuthorizerName ?? "none"}, override ${next.authorizerConfig?.allowAuthorizerOverride === true})`);
    return { domainConfigurationName: next.domainConfigurationName, domainConfigurationArn: next.domainConfigurationArn };
  }

  private describe(d: DomainConfigurationRecord) {
    return {
      ...d,
      serverCertificates: d.serverCertificateArns.map((serverCertificateArn) => ({ serverCertificateArn, serverCertificateStatus: "VALID" })),
    };
  }

  private requireCertificateFor(arn: string, domainName: string): void {
    const record = this.host.certificates.get(arn);
    if (!record) throw new AwsError("InvalidRequestException", `server certificate ${arn} is unknown: import it first`);
    if (!new X509Certificate(record.certificatePem).checkHost(domainName)) {
      throw new AwsError("CertificateValidationException", `server certificate ${arn} does not cover ${domainName}`);
    }
  }

  private require(name: string): DomainConfigurationRecord {
    const record = this.host.configurations.get(String(name));
    if (!record) throw notFound(`domain configuration ${name}`);
    return record;
  }
}

function authorizerConfigOf(value: OperationInput): AuthorizerConfig {
  return {
    ...(value.defaultAuthorizerName ? { defaultAuthorizerName: String(value.defaultAuthorizerName) } : {}),
    ...(typeof value.allowAuthorizerOverride === "boolean" ? { allowAuthorizerOverride: value.allowAuthorizerOverride } : {}),
  };
}
