// The verifier Lambda (API Gateway HTTP API, payload 2.0): size check -> signature over the
// raw bytes -> envelope check -> route by the registry -> queue -> 200. Never 2xx before
// the event is in SQS; 5xx when it could not be queued, so Stripe retries.

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { EventQueue } from '../adapters/event-queue';
import { verifyStripeSignature } from '../adapters/signature';
import type { StripeMode } from '../config';
import {
  BillingGateError,
  InvalidPayloadError,
  PayloadTooLargeError,
  QueueUnavailableError,
  SignatureError,
} from '../core/errors';
import { METRICS } from '../core/metric-names';
import { stripeEventProblem, type StripeEvent } from '../core/stripe-event';
import { MetricUnit, since, type Logger, type Metrics } from '../observability';

export interface WebhookSecrets {
  /** The signing secrets in use; `refresh` asks for a re-read (rotation). */
  (options?: { refresh?: boolean }): Promise<readonly string[]>;
}

export interface VerifierDeps {
  secrets: WebhookSecrets;
  queue: EventQueue;
  enabledTypes: ReadonlySet<string>;
  stripeMode: StripeMode | null;
  toleranceSeconds: number;
  maxBodyBytes: number;
  clock: () => Date;
  logger: Logger;
  metrics: Metrics;
}

type Result = APIGatewayProxyStructuredResultV2;

const json = (statusCode: number, body: unknown): Result => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  if (headers[name] !== undefined) return headers[name];
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return headers[key];
  }
  return undefined;
}

/** The raw body without decoding it twice: text stays text, base64 becomes bytes. */
function rawBodyOf(event: APIGatewayProxyEventV2, maxBytes: number): string | Buffer {
  const body = event.body ?? '';
  const size = event.isBase64Encoded
    ? Buffer.byteLength(body, 'base64')
    : Buffer.byteLength(body, 'utf8');
  if (size > maxBytes) {
    throw new PayloadTooLargeError(`payload of ${size} bytes is over the ${maxBytes}-byte limit`);
  }
  return event.isBase64Encoded ? Buffer.from(body, 'base64') : body;
}

function parseEvent(raw: string): StripeEvent {
  let value: unknown;
  try {
    value = JSON.parse(raw);
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

export function makeVerifierHandler(deps: VerifierDeps) {
  const { logger, metrics } = deps;

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
    try {
      check(await deps.secrets());
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      // The secret may have been rotated since it was cached: re-read once and retry.
      const fresh = await deps.secrets({ refresh: true });
      check(fresh);
    }
  };

  const handle = async (event: APIGatewayProxyEventV2): Promise<Result> => {
    if (event.requestContext.http.method.toUpperCase() !== 'POST') {
      return json(405, { error: 'method not allowed: Stripe webhooks are POSTed' });
    }
    const raw = rawBodyOf(event, deps.maxBodyBytes);
    await verify(raw, header(event, 'stripe-signature'));
    const stripeEvent = parseEvent(typeof raw === 'string' ? raw : raw.toString('utf8'));
    const ignored = ignoreReason(stripeEvent, deps);
    if (ignored) {
      metrics.addMetric(METRICS.webhookIgnored, MetricUnit.Count, 1);
      logger.info('webhook ignored', { eventId: stripeEvent.id, type: stripeEvent.type, ignored });
      return json(200, { received: true, id: stripeEvent.id, ignored: true });
    }
    await deps.queue.send({
      id: stripeEvent.id,
      type: stripeEvent.type,
      livemode: stripeEvent.livemode === true,
      body: typeof raw === 'string' ? raw : raw.toString('utf8'),
    });
    metrics.addMetric(METRICS.webhookQueued, MetricUnit.Count, 1);
    logger.info('webhook queued', { eventId: stripeEvent.id, type: stripeEvent.type });
    return json(200, { received: true, id: stripeEvent.id, queued: true });
  };

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const start = performance.now();
    metrics.addMetric(METRICS.webhookReceived, MetricUnit.Count, 1);
    try {
      const result = await handle(event);
      logger.info('webhook answered', { status: result.statusCode, latencyMs: since(start) });
      return result;
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === null || !(err instanceof BillingGateError)) throw err;
      if (status === 503) metrics.addMetric(METRICS.queueFailure, MetricUnit.Count, 1);
      else metrics.addMetric(METRICS.webhookRejected, MetricUnit.Count, 1);
      if (err instanceof SignatureError) {
        metrics.addMetric(METRICS.signatureFailure, MetricUnit.Count, 1);
      }
      const log = status === 503 ? logger.error.bind(logger) : logger.warn.bind(logger);
      log('webhook rejected', {
        status,
        code: err.code,
        reason: err.message,
        latencyMs: since(start),
      });
      return json(status, { error: err.message });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
