// Why the billing-status table could not be read, in the two kinds the gate answers apart: a
// configuration the service must fix (no table by that name, a denied role, no region or
// credentials, an invalid request, an item format newer than this client) and an outage
// that passes (throttling, timeouts, the network, DynamoDB's own 5xx).

import { OversizeStatusError, UnknownStatusFormatError } from '../../lambdas/adapters/status-item';

/** `configuration`: fix the service's setup; `unavailable`: DynamoDB could not answer now. */
export type GateErrorKind = 'configuration' | 'unavailable';

export const GATE_ERROR_KINDS: readonly GateErrorKind[] = ['configuration', 'unavailable'];

/** What exactly went wrong; each problem belongs to one kind (see PROBLEM_KIND). */
export type GateProblem =
  | 'table_not_found'
  | 'access_denied'
  | 'no_region'
  | 'no_credentials'
  | 'credentials_rejected'
  | 'invalid_request'
  | 'item_format'
  | 'settings_format'
  | 'item_oversize'
  | 'timeout'
  | 'throttled'
  | 'service_error'
  | 'network';

export const PROBLEM_KIND: Readonly<Record<GateProblem, GateErrorKind>> = {
  table_not_found: 'configuration',
  access_denied: 'configuration',
  no_region: 'configuration',
  no_credentials: 'configuration',
  credentials_rejected: 'configuration',
  invalid_request: 'configuration',
  item_format: 'configuration',
  settings_format: 'configuration',
  item_oversize: 'unavailable',
  timeout: 'unavailable',
  throttled: 'unavailable',
  service_error: 'unavailable',
  network: 'unavailable',
};

/** A read that took longer than `timeoutMs`. */
export class GateTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer from DynamoDB within ${timeoutMs} ms`);
    this.name = 'GateTimeoutError';
  }
}

/**
 * The deployment's settings item holds what this client cannot read: a policy of a newer
 * stack, or no settings at all.
 */
export class SettingsFormatError extends Error {
  constructor(cause: unknown) {
    super(`the settings item: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'SettingsFormatError';
  }
}

/** The fields of an AWS SDK error this module looks at (any thrown value may lack them). */
interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'Throttling',
  'TooManyRequestsException',
]);
const CREDENTIALS_REJECTED = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'SignatureDoesNotMatch',
]);
const INVALID_REQUEST = new Set(['ValidationException', 'SerializationException']);
const TIMEOUTS = new Set(['GateTimeoutError', 'TimeoutError', 'RequestTimeout']);

/** Which problem `error` (thrown by the SDK or by this client) is. */
export function problemOf(error: unknown): GateProblem {
  if (error instanceof UnknownStatusFormatError) return 'item_format';
  if (error instanceof SettingsFormatError) return 'settings_format';
  if (error instanceof OversizeStatusError) return 'item_oversize';
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const status = e.$metadata?.httpStatusCode;
  if (name === 'ResourceNotFoundException') return 'table_not_found';
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return 'access_denied';
  // The SDK's config resolution throws plain Errors before any request is sent.
  if (/^Region is missing/.test(message)) return 'no_region';
  if (name === 'CredentialsProviderError') return 'no_credentials';
  if (CREDENTIALS_REJECTED.has(name)) return 'credentials_rejected';
  if (INVALID_REQUEST.has(name)) return 'invalid_request';
  if (TIMEOUTS.has(name) || status === 408) return 'timeout';
  if (THROTTLING.has(name) || e.$retryable?.throttling === true || status === 429) {
    return 'throttled';
  }
  if ((status !== undefined && status >= 500) || e.$fault === 'server') return 'service_error';
  // Any other answer of DynamoDB refusing the request: retrying will not change it.
  if (status !== undefined && status >= 400) return 'invalid_request';
  return 'network';
}

/** Where the read went: named in messages so a reader sees which table and which stack. */
export interface ReadTarget {
  readonly tableName: string;
  /** The client's region, if it has one. */
  readonly region: string | undefined;
  /** The client's own endpoint (DynamoDB Local), if it was given one. */
  readonly endpoint: string | undefined;
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** One sentence saying what went wrong and what to do about it. */
export function explain(problem: GateProblem, error: unknown, target: ReadTarget): string {
  const where = `${target.region ? ` in region ${target.region}` : ''}${target.endpoint ? ` at ${target.endpoint}` : ''}`;
  switch (problem) {
    case 'table_not_found':
      return (
        `table "${target.tableName}" not found${where}: check tableName (the stack's TableName output) ` +
        "and the client's region. Against DynamoDB Local (npm start) check the access key id too: " +
        'it keeps a separate set of tables per access key id and region, so another key or region ' +
        'finds no table (ResourceNotFoundException); npm start writes its own to .local/stack.json'
      );
    case 'access_denied':
      return (
        `access denied reading status items of table "${target.tableName}"${where}: the client's ` +
        'identity may not call dynamodb:GetItem on them (status items, the settings item, ' +
        "Accounts v2 aliases). Attach the stack's StatusReaderPolicyArn " +
        `output to its role (or gate.grantStatusItemRead(role) in CDK) (${describe(error)})`
      );
    case 'no_region':
      return "no AWS region: set AWS_REGION, or give the DynamoDBClient the stack's region";
    case 'no_credentials':
      return (
        'no AWS credentials: none of the default providers had any (environment, shared config ' +
        'and SSO, container or instance role); run with a role, or give the DynamoDBClient credentials'
      );
    case 'credentials_rejected':
      return (
        `DynamoDB rejected the client's credentials${where} (${describe(error)}): check the ` +
        'access key id, its secret, the session token and the region'
      );
    case 'invalid_request':
      return `DynamoDB refused the read of table "${target.tableName}"${where} as invalid (${describe(error)})`;
    case 'item_format':
      return `the table holds a status item in a format this client does not read (${describe(error)})`;
    case 'settings_format':
      return (
        `the deployment's settings (policy, warning window) in table "${target.tableName}" are ` +
        `not what this client reads: a newer stack? upgrade stripe-billing-gate-client (${describe(error)})`
      );
    case 'item_oversize':
      return (
        `the status item of ${error instanceof OversizeStatusError ? error.customerId : 'the customer'} ` +
        'missed a write DynamoDB refused for its size, so it may be stale; the status API answers ' +
        'from the facts, and `npm run rebuild -- <customer>` repairs the item (the StatusWriteFailed alarm fired)'
      );
    case 'timeout':
    case 'throttled':
    case 'service_error':
    case 'network':
      return `DynamoDB could not be read${where} (${describe(error)})`;
  }
}

/**
 * Why `ready()` rejected: the table cannot be read with the given client. `kind` and
 * `problem` say why; `cause` is the error the SDK threw.
 */
export class GateNotReadyError extends Error {
  readonly kind: GateErrorKind;

  constructor(
    readonly problem: GateProblem,
    readonly tableName: string,
    message: string,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'GateNotReadyError';
    this.kind = PROBLEM_KIND[problem];
  }
}
