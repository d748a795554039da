// A webhook as API Gateway (HTTP API, payload 2.0) hands it to the verifier: the raw body and
// the Stripe-Signature header made by the stripe package's own helper; and the verifier that
// queues what it verifies to the SQS emulator.
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { signatureHeader } from '../../bin/events/stripe-events';
import { makeSqsEventQueue } from '../../lambdas/adapters/event-queue';
import type { WebhookSecrets } from '../../lambdas/adapters/webhook-secrets';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { makeVerifierHandler } from '../../lambdas/verifier/make-verifier';
import { testLogger, testMetrics } from './telemetry';

export function signedWebhook(
  payload: string,
  secret: string,
  { base64 = false }: { base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers: { 'stripe-signature': signatureHeader(payload, secret) },
    requestContext: { http: { method: 'POST' } } as APIGatewayProxyEventV2['requestContext'],
    body: base64 ? Buffer.from(payload, 'utf8').toString('base64') : payload,
    isBase64Encoded: base64,
  };
}

/**
 * The verifier as deployed, over real SQS clients: `secrets` verify, events of `types` are
 * queued to the queues named `<urlPrefix><type>`.
 */
export function queueingVerifier(
  sqs: SQSClient,
  urlPrefix: string,
  { secrets, types = HANDLED_TYPES }: { secrets: WebhookSecrets; types?: readonly string[] },
) {
  return makeVerifierHandler({
    secrets,
    queue: makeSqsEventQueue(sqs, urlPrefix),
    enabledTypes: new Set(types),
    stripeMode: null,
    toleranceSeconds: 300,
    clock: () => new Date(),
    logger: testLogger,
    metrics: testMetrics,
  });
}
