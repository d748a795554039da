// The verifier against the SQS emulator: a verified event lands in its type's queue with
// its attributes and exact bytes; an unhandled type lands nowhere; no queue, no 200.
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { queueUrlPrefixOf, type QueuePair } from '../../bin/local/provision';
import { buildEvent, signatureHeader } from '../../bin/stripe-events';
import { makeSqsEventQueue } from '../../lambdas/adapters/event-queue';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { makeVerifierHandler } from '../../lambdas/verifier/make-verifier';
import { freshQueues } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';

const SECRET = 'whsec_integration';
let queues: QueuePair[];
let sqs: SQSClient;
let prefix: string;

const verifierWith = (client: SQSClient, urlPrefix: string) =>
  makeVerifierHandler({
    secrets: async () => [SECRET],
    queue: makeSqsEventQueue(client, urlPrefix),
    enabledTypes: new Set(HANDLED_TYPES),
    stripeMode: null,
    toleranceSeconds: 300,
    maxBodyBytes: 1_000_000,
    clock: () => new Date(),
    logger: testLogger,
    metrics: testMetrics,
  });

const request = (payload: string): APIGatewayProxyEventV2 => ({
  version: '2.0',
  routeKey: 'POST /webhook',
  rawPath: '/webhook',
  rawQueryString: '',
  headers: { 'stripe-signature': signatureHeader(payload, SECRET) },
  requestContext: { http: { method: 'POST' } } as APIGatewayProxyEventV2['requestContext'],
  body: payload,
  isBase64Encoded: false,
});

const visible = async (url: string) =>
  Number(
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      )
    ).Attributes?.ApproximateNumberOfMessages,
  );

beforeAll(async () => {
  ({ sqs, queues, prefix } = await freshQueues(['invoice.paid', 'charge.failed']));
});

describe('the verifier with a real queue', () => {
  it('puts a verified event on its own type queue, with its attributes and exact bytes', async () => {
    const handler = verifierWith(sqs, queueUrlPrefixOf(queues[0]!, prefix));
    const payload = JSON.stringify(buildEvent('charge.failed', { id: 'evt_int_1' }), null, 2);
    const res = await handler(request(payload));
    expect(res.statusCode).toBe(200);
    const queue = queues.find((q) => q.type === 'charge.failed')!;
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, MessageAttributeNames: ['All'] }),
    );
    const message = got.Messages?.[0];
    expect(message?.Body).toBe(payload);
    expect(message?.MessageAttributes).toMatchObject({
      eventId: { StringValue: 'evt_int_1' },
      eventType: { StringValue: 'charge.failed' },
      livemode: { StringValue: 'false' },
    });
    expect(await visible(queues.find((q) => q.type === 'invoice.paid')!.queueUrl)).toBe(0);
  });

  it('queues nothing for a type no processor handles', async () => {
    ({ sqs, queues, prefix } = await freshQueues(['invoice.paid', 'charge.failed']));
    const handler = verifierWith(sqs, queueUrlPrefixOf(queues[0]!, prefix));
    const res = await handler(request(JSON.stringify(buildEvent('plan.created'))));
    expect(JSON.parse(res.body!)).toMatchObject({ ignored: true });
    for (const q of queues) expect(await visible(q.queueUrl)).toBe(0);
  });

  it('answers 503, never 200, when the queue cannot be reached', async () => {
    const unreachable = new SQSClient({
      ...LOCAL_AWS,
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    const handler = verifierWith(unreachable, 'http://127.0.0.1:9/123456789012/nowhere-');
    const res = await handler(request(JSON.stringify(buildEvent('invoice.paid'))));
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body!).error).toMatch(/could not queue/);
  });
});
