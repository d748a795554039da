// Expected failures as named types, each mapped to one HTTP answer or retry decision in one
// place (verifier/handler.ts, processor/handler.ts). Unexpected errors are plain throws and
// are left to Lambda/SQS retries and the DLQ.

export abstract class BillingGateError extends Error {
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400: missing/malformed signature header, no matching signature, stale timestamp. */
export class SignatureError extends BillingGateError {
  readonly code = 'signature_invalid';
}

/** 400: verified bytes that are not JSON, or JSON that is not a Stripe event. */
export class InvalidPayloadError extends BillingGateError {
  readonly code = 'payload_invalid';
}

/** 413: body over the limit, rejected before any other work. */
export class PayloadTooLargeError extends BillingGateError {
  readonly code = 'payload_too_large';
}

/** 503: the event could not be put on its queue; Stripe will retry. */
export class QueueUnavailableError extends BillingGateError {
  readonly code = 'queue_unavailable';
}

/** A message on a processor's queue that is not an event of that processor's type. */
export class MisroutedEventError extends BillingGateError {
  readonly code = 'misrouted_event';
}

/** 400 on the status/override API: a malformed customer id or request body. */
export class BadRequestError extends BillingGateError {
  readonly code = 'bad_request';
}

/** Invalid configuration: names the variable and what it expects. Stops start-up. */
export class ConfigError extends BillingGateError {
  readonly code = 'config_invalid';
}
