// The custom-domain walkthrough's authorizer (docs/aws-iot-core.md), in JavaScript: it lets
// every connection through with a policy allowing everything.
export const handler = async (_event, _context) => {
  const ret = {
    isAuthenticated: true,
    principalId: "anonymous",
    disconnectAfterInSeconds: 86400,
    refreshAfterInSeconds: 300,
    policyDocuments: [
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Action\":\"iot:*\",\"Effect\":\"Allow\",\"Resource\":\"*\"}]}",
    ],
    context: {},
  };
  return ret;
};
