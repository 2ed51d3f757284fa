// Registration of the device root CA with its JITP template through the AWS IoT control plane:
// the same code reaches a real account or, with an endpoint URL, the local stand-in.

import { GetRegistrationCodeCommand, IoTClient, RegisterCACertificateCommand } from "@aws-sdk/client-iot";
import type { JitpTemplate } from "./template.js";

export interface ControlPlane {
  region: string;
  /** e.g. the stand-in's controlUrl; omit for the real AWS endpoint. */
  endpointUrl?: string;
  /** Explicit credentials (the stand-in's account key); default: the SDK's usual chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Credentials come from the SDK's usual chain; for the stand-in, the files it writes in <state>/aws/. */
export function controlPlaneClient(plane: ControlPlane): IoTClient {
  return new IoTClient({
    region: plane.region,
    ...(plane.endpointUrl ? { endpoint: plane.endpointUrl } : {}),
    ...(plane.credentials ? { credentials: plane.credentials } : {}),
  });
}

/** The account's registration code (GetRegistrationCode). Rejects with the SDK's error. */
export async function fetchRegistrationCode(plane: ControlPlane): Promise<string> {
  const iot = controlPlaneClient(plane);
  try {
    const out = await iot.send(new GetRegistrationCodeCommand({}));
    if (!out.registrationCode) throw new Error("the control plane returned no registration code");
    return out.registrationCode;
  } finally {
    iot.destroy();
  }
}

export interface RegisterOptions extends ControlPlane {
  caPem: string;
  verificationPem: string;
  template?: JitpTemplate;
  setAsActive?: boolean;
  allowAutoRegistration?: boolean;
}

/** RegisterCACertificate with the template attached; resolves to the CA's id and ARN. Rejects with the SDK's error. */
export async function registerCa(options: RegisterOptions): Promise<{ certificateId: string; certificateArn: string }> {
  const iot = controlPlaneClient(options);
  try {
    const out = await iot.send(
      new RegisterCACertificateCommand({
        caCertificate: options.caPem,
        verificationCertificate: options.verificationPem,
        setAsActive: options.setAsActive ?? true,
        allowAutoRegistration: options.allowAutoRegistration ?? true,
        ...(options.template ? { registrationConfig: options.template } : {}),
      }),
    );
    return { certificateId: out.certificateId ?? "", certificateArn: out.certificateArn ?? "" };
  } finally {
    iot.destroy();
  }
}

/** The equivalent AWS CLI commands, for people who prefer them. */
export function awsCliCommands(files: { ca: string; verification: string; template?: string }, plane: ControlPlane): string[] {
  const tail = `--region ${plane.region}${plane.endpointUrl ? ` --endpoint-url ${plane.endpointUrl}` : ""}`;
  return [
    `aws iot get-registration-code ${tail}`,
    `aws iot register-ca-certificate --ca-certificate file://${files.ca} --verification-cert file://${files.verification} --set-as-active --allow-auto-registration` +
      (files.template ? ` --registration-config file://${files.template}` : "") +
      ` ${tail}`,
  ];
}
