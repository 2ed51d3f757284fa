// The WebSocket custom-auth walkthrough's authorizer (docs/aws-iot-core.md), in JavaScript: the
// connection is authenticated when the device gateway verified the token signature, and
// client_id may connect and use my-topic in ap-northeast-1.
const policy = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: "iot:Connect",
      Resource: "arn:aws:iot:ap-northeast-1:*:client/client_id",
    },
    {
      Effect: "Allow",
      Action: [
        "iot:Publish",
        "iot:Receive",
      ],
      Resource: "arn:aws:iot:ap-northeast-1:*:topic/my-topic",
    },
    {
      Effect: "Allow",
      Action: "iot:Subscribe",
      Resource: "arn:aws:iot:ap-northeast-1:*:topicfilter/my-topic",
    },
  ],
};

export const handler = async (event, _context) => {
  console.log(`eventy: ${JSON.stringify(event)}`);

  let is_authenticated = false;
  if ("signatureVerified" in event) {
    is_authenticated = event["signatureVerified"];
  }

  const principal_id = "CustomAuthId";
  const disconnect = 84000;
  const refresh = 300;

  return {
    isAuthenticated: is_authenticated,
    principalId: principal_id,
    disconnectAfterInSeconds: disconnect,
    refreshAfterInSeconds: refresh,
    policyDocuments: [
      policy,
    ],
  };
};
