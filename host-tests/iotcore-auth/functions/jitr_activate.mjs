// The JITR walkthrough's function (docs/aws-iot-core.md), in JavaScript:
// activate the registered certificate, create a policy allowing everything, attach it.
import { IoTClient, UpdateCertificateCommand, DescribeCertificateCommand, CreatePolicyCommand, AttachPrincipalPolicyCommand } from "@aws-sdk/client-iot";

export const handler = async (event, _context) => {
  try {
    const client = new IoTClient({});
    // activate the certificate
    await client.send(new UpdateCertificateCommand({
      certificateId: event["certificateId"],
      newStatus: "ACTIVE",
    }));
    const cert = await client.send(new DescribeCertificateCommand({
      certificateId: event["certificateId"],
    }));
    // create the policy
    const doc = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "*",
          Resource: "*",
        },
      ],
    };
    const policy = await client.send(new CreatePolicyCommand({
      policyName: event["certificateId"] + "-policy",
      policyDocument: JSON.stringify(doc),
    }));
    // attach the policy
    await client.send(new AttachPrincipalPolicyCommand({
      policyName: policy["policyName"],
      principal: cert["certificateDescription"]["certificateArn"],
    }));
  } catch (e) {
    console.log(String(e));
    throw e;
  }
};
