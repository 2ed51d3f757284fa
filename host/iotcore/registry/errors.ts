// AWS's error names and HTTP statuses; the control plane sends them in the protocol's shape
// (REST: `x-amzn-ErrorType` header + JSON `{message}`; JSON: `__type`; query: XML), services raise them.
const STATUS: Record<string, number> = {
  InvalidRequestException: 400,
  CertificateValidationException: 400,
  CertificateStateException: 406,
  DeleteConflictException: 409,
  ResourceAlreadyExistsException: 409,
  ResourceNotFoundException: 404,
  UnauthorizedException: 401,
  ForbiddenException: 403,
  ThrottlingException: 429,
  LimitExceededException: 410,
  VersionConflictException: 409,
  InvalidStateTransitionException: 409,
  VersionsLimitExceededException: 409,
  MalformedPolicyException: 400,
  InternalFailureException: 500,
  ServiceUnavailableException: 503,
  UnknownOperationException: 404,
  InvalidSignatureException: 403,
  // iot-data (Device Shadow REST API)
  ConflictException: 409,
  RequestEntityTooLargeException: 413,
  UnsupportedDocumentEncodingException: 415,
  MethodNotAllowedException: 405,
  SqlParseException: 400,
  SerializationException: 400,
  ValidationException: 400,
};

export class AwsError extends Error {
  readonly status: number;
  /**
   * @param status HTTP status; default AWS's for the code (400 for codes not listed)
   * @param reason for the stand-in's log when it says more than the message (what to change)
   */
  constructor(readonly code: string, message: string, status?: number, readonly reason?: string) {
    super(message);
    this.name = code;
    this.status = status ?? STATUS[code] ?? 400;
  }
}

export function notFound(what: string): AwsError {
  return new AwsError("ResourceNotFoundException", `${what} does not exist`);
}
