// The verifier Lambda (API Gateway HTTP API, payload 2.0): size check -> signature over the
// raw bytes -> envelope check -> route by the registry -> queue -> 200. Never 2xx before
// the event is in SQS; 5xx when it could not be queued, so Stripe retries.

import { isUtf8 } from 'node:buffer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { EventQueue } from '../adapters/event-queue';
import { NoMatchingSignatureError, verifyStripeSignature } from '../adapters/signature';
import type { WebhookSecrets } from '../adapters/webhook-secrets';
import { DEFAULTS, type StripeMode } from '../config';
import {
  BillingGateError,
  InvalidPayloadError,
  PayloadTooLargeError,
  QueueUnavailableError,
  SignatureError,
} from '../core/errors';
import { METRICS } from '../core/metric-names';
import { eventProblem } from '../core/rules';
import { stripeEventProblem, type StripeEvent } from '../core/stripe-event';
import { MetricUnit, since, type Logger, type Metrics } from '../observability';

export interface VerifierDeps {
  secrets: WebhookSecrets;
  queue: EventQueue;
  /** Types this deployment processes (the registry, or ENABLED_EVENT_TYPES). */
  enabledTypes: ReadonlySet<string>;
  /** STRIPE_MODE; null accepts both modes. */
  stripeMode: StripeMode | null;
  toleranceSeconds: number;
  /** @default DEFAULTS.maxBodyBytes (1,000,000: an SQS message is at most 1 MiB) */
  maxBodyBytes?: number;
  clock: () => Date;
  logger: Logger;
  metrics: Metrics;
}

type Result = APIGatewayProxyStructuredResultV2;

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}) => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** API Gateway v2 lower-cases header names; other callers may not. */
function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  const exact = headers[name];
  if (exact !== undefined) return exact;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}

/** Over the limit? Computed without decoding or scanning the body where possible. */
function isTooLarge(body: string, base64: boolean, limit: number): boolean {
  // From the length and padding alone; API Gateway's base64 has no line breaks.
  if (base64) return Buffer.byteLength(body, 'base64') > limit;
  // A UTF-16 code unit is 1 to 3 UTF-8 bytes: count exactly only when the bounds disagree.
  if (body.length > limit) return true;
  if (body.length * 3 <= limit) return false;
  return Buffer.byteLength(body, 'utf8') > limit;
}

/** The verified bytes as text: API Gateway's string as is, decoded bytes once. */
function textOf(raw: string | Buffer): string {
  if (typeof raw === 'string') return raw;
  if (!isUtf8(raw)) throw new InvalidPayloadError('payload is not valid JSON: not UTF-8');
  return raw.toString('utf8');
}

function parseEvent(text: string): StripeEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidPayloadError('payload is not valid JSON');
  }
  const problem = stripeEventProblem(value);
  if (problem) throw new InvalidPayloadError(problem);
  return value as StripeEvent;
}

/** Why this deployment acknowledges but does not process a verified event, or null. */
function ignoreReason(event: StripeEvent, deps: VerifierDeps): string | null {
  if (!deps.enabledTypes.has(event.type)) return 'unhandled_type';
  if (deps.stripeMode !== null && event.livemode !== (deps.stripeMode === 'live')) {
    return 'mode_mismatch';
  }
  if (event.account !== undefined && event.account !== null) return 'connected_account';
  return null;
}

/** The answer for an expected failure; null for anything else (Lambda reports a 500). */
function httpStatusOf(err: unknown): number | null {
  if (err instanceof PayloadTooLargeError) return 413;
  if (err instanceof SignatureError || err instanceof InvalidPayloadError) return 400;
  if (err instanceof QueueUnavailableError) return 503;
  return null;
}

/** What the log line of one request says: ids once known, never the body. */
interface LogFields {
  eventId?: string;
  eventType?: string;
  ignored?: string;
}

interface Outcome {
  result: Result;
  outcome: 'queued' | 'ignored' | 'method_not_allowed';
}

export function makeVerifierHandler(deps: VerifierDeps) {
  const { logger, metrics } = deps;
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULTS.maxBodyBytes;

  const verify = async (raw: string | Buffer, signature: string | undefined) => {
    const nowSeconds = Math.floor(deps.clock().getTime() / 1000);
    const check = (secrets: readonly string[]) =>
      verifyStripeSignature({
        rawBody: raw,
        header: signature,
        secrets,
        toleranceSeconds: deps.toleranceSeconds,
        nowSeconds,
      });
    const cached = await deps.secrets();
    try {
      check(cached);
    } catch (err) {
      if (!(err instanceof NoMatchingSignatureError)) throw err;
      // The secret may have been rotated since it was cached: re-read (the source limits
      // how often) and check again only when something changed.
      const fresh = await deps.secrets({ refresh: true });
      if (fresh === cached) throw err;
      check(fresh);
    }
  };

  const handle = async (event: APIGatewayProxyEventV2, log: LogFields): Promise<Outcome> => {
    const body = event.body ?? '';
    const base64 = event.isBase64Encoded === true;
    if (isTooLarge(body, base64, maxBodyBytes)) {
      throw new PayloadTooLargeError(`payload is over the ${maxBodyBytes}-byte limit`);
    }
    if (event.requestContext.http.method.toUpperCase() !== 'POST') {
      return {
        result: json(
          405,
          { error: 'method not allowed: Stripe webhooks are POSTed' },
          { allow: 'POST' },
        ),
        outcome: 'method_not_allowed',
      };
    }
    const raw = base64 ? Buffer.from(body, 'base64') : body;
    await verify(raw, header(event, 'stripe-signature'));
    const text = textOf(raw);
    const stripeEvent = parseEvent(text);
    log.eventId = stripeEvent.id;
    log.eventType = stripeEvent.type;
    const ignored = ignoreReason(stripeEvent, deps);
    if (ignored) {
      log.ignored = ignored;
      return {
        result: json(200, { received: true, id: stripeEvent.id, ignored: true }),
        outcome: 'ignored',
      };
    }
    // Ids and dates Stripe never sends stop at the door (docs/behaviour.md#hostile-and-busy-customers).
    const problem = eventProblem(stripeEvent, Math.floor(deps.clock().getTime() / 1000));
    if (problem) throw new InvalidPayloadError(`payload is not a Stripe event: ${problem}`);
    await deps.queue.send({
      id: stripeEvent.id,
      type: stripeEvent.type,
      livemode: stripeEvent.livemode === true,
      body: text,
    });
    return {
      result: json(200, { received: true, id: stripeEvent.id, queued: true }),
      outcome: 'queued',
    };
  };

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const start = performance.now();
    const log: LogFields = {};
    // Refusals only: a queued or ignored webhook writes no metric line (a line per webhook
    // is paid for per million; API Gateway and Lambda count requests and invocations free).
    let counted = false;
    const count = (name: string) => {
      metrics.addMetric(name, MetricUnit.Count, 1);
      counted = true;
    };
    try {
      const { result, outcome } = await handle(event, log);
      if (outcome === 'method_not_allowed') count(METRICS.webhookRejected);
      // A handled webhook writes no line at the default level: logs are part of the cost
      // per webhook. Refusals (below, and a wrong method) are worth a warning.
      const line = { outcome, status: result.statusCode, ...log, latencyMs: since(start) };
      if (outcome === 'method_not_allowed') logger.warn('webhook', line);
      else logger.debug('webhook', line);
      return result;
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === null || !(err instanceof BillingGateError)) {
        // Configuration or Secrets Manager trouble: a 500, so Stripe retries and alarms fire.
        logger.error('webhook failed', {
          ...log,
          error: (err as Error).name,
          reason: (err as Error).message,
          latencyMs: since(start),
        });
        throw err;
      }
      count(status === 503 ? METRICS.queueFailure : METRICS.webhookRejected);
      if (err instanceof SignatureError) count(METRICS.signatureFailure);
      (status === 503 ? logger.error : logger.warn).call(logger, 'webhook', {
        outcome: err.code,
        status,
        ...log,
        reason: err.message,
        latencyMs: since(start),
      });
      return json(status, { error: err.message });
    } finally {
      if (counted) metrics.publishStoredMetrics();
    }
  };
}
