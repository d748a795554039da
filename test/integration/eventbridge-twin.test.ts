// The local twin with both ways in (ingress=both), assembled as `npm start` assembles it:
// the HTTP front, the verifier on /webhook, the local partner bus on /eventbridge, real
// queues, the processors and the status API over DynamoDB Local. An event arriving both
// ways, repeatedly and at once, is applied once; the bus filters like the stack's rules;
// and `npm run redrive` brings EventBridge's own dead letters back as Stripe events.

import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  DEFAULT_LOCAL_EVENTBRIDGE_SOURCE,
  admitEventBridgeRules,
  localRuleArn,
  makeLocalEventBus,
} from '../../bin/local/eventbridge-bus';
import { createFront } from '../../bin/local/front';
import { LOCAL_AWS } from '../../bin/local/local-aws';
import type { LocalPipeline } from '../../bin/local/pipeline';
import { queueUrlPrefixOf, type QueuePair } from '../../bin/local/provision';
import { eventBridgeMayDeadLetter } from '../../bin/ops/eventbridge-dead-letters';
import { localTarget } from '../../bin/ops/target';
import { command as redrive, run as runRedrive } from '../../bin/redrive';
import { buildEvent, signatureHeader, stripeId } from '../../bin/events/stripe-events';
import { makeSqsEventQueue } from '../../lambdas/adapters/event-queue';
import { staticWebhookSecrets } from '../../lambdas/adapters/webhook-secrets';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { toEnvelope } from '../../lambdas/eventbridge/envelope';
import { makeVerifierHandler } from '../../lambdas/verifier/make-verifier';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import { capture } from '../support/stripe-commands';
import {
  eventually,
  factIds,
  freshQueues,
  itemStatus,
  queueDepth,
  settled,
} from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';
import { startTestPipeline } from '../support/test-pipeline';

const SECRET = 'whsec_twin_test';
const SOURCE = DEFAULT_LOCAL_EVENTBRIDGE_SOURCE;
const TYPES = ['invoice.payment_failed', 'invoice.paid', 'customer.deleted'];

let server: Server;
let base: string;
let pipeline: LocalPipeline;
let sqs: SQSClient;
let queues: QueuePair[];
let tableName: string;
let store: FactStore;

beforeAll(async () => {
  const started = await startTestPipeline({
    types: TYPES,
    queues: { visibilityTimeoutSeconds: 1 },
  });
  ({ tableName, store, sqs, queues, pipeline } = started);
  const prefix = queueUrlPrefixOf(queues[0]!, started.prefix);
  await admitEventBridgeRules(sqs, queues, SOURCE);
  const verifier = makeVerifierHandler({
    secrets: staticWebhookSecrets([SECRET]),
    queue: makeSqsEventQueue(sqs, prefix),
    enabledTypes: new Set(TYPES),
    stripeMode: 'test',
    toleranceSeconds: 300,
    clock: () => new Date(),
    logger: testLogger,
    metrics: testMetrics,
  });
  const bus = makeLocalEventBus({
    source: SOURCE,
    stripeMode: 'test',
    queues,
    sqs,
    logger: testLogger,
  });
  server = createFront(
    { verifier, eventBridge: bus, statusApi: () => pipeline.statusApi, ready: () => true },
    () => undefined,
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await pipeline?.stop();
});

const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

const viaWebhook = (event: StripeEvent) => {
  const payload = JSON.stringify(event, null, 2);
  return post('/webhook', payload, { 'stripe-signature': signatureHeader(payload, SECRET) });
};

const viaEventBridge = (event: StripeEvent, source = SOURCE) =>
  post('/eventbridge', JSON.stringify(toEnvelope(event, { source })));

async function historyIds(customer: string): Promise<string[]> {
  const res = await fetch(`${base}/customers/${customer}/events`);
  return res.status === 200 ? ((await res.json()) as { id: string }[]).map((e) => e.id) : [];
}

/**
 * The ids of the customer's stored facts once there are `count` of them and its status item
 * agrees with the full derivation over them (a duplicate applied twice never settles).
 */
async function applied(customer: string, count: number): Promise<string[]> {
  await eventually(() => settled(store, customer, count), {
    timeoutMs: 20_000,
    what: `${count} events of ${customer} applied and the status item settled`,
  });
  return factIds(store, customer);
}

describe('one event, both ways in', () => {
  it('is applied once, however many times and in whatever order it arrives each way', async () => {
    // Prepare
    const customer = stripeId('cus');
    const failed = buildEvent('invoice.payment_failed', { customer, object: { id: 'in_twin1' } });

    // Act: three copies each way, all at once
    const answers = await Promise.all([
      ...[0, 1, 2].map(() => viaWebhook(failed)),
      ...[0, 1, 2].map(() => viaEventBridge(failed)),
    ]);
    const ids = await applied(customer, 1);
    // Give duplicates still queued the time to be (not) applied.
    await eventually(
      async () =>
        (await Promise.all(queues.map((q) => queueDepth(sqs, q.queueUrl)))).every((d) => d === 0),
      { what: 'empty queues' },
    );

    // Assess
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers.slice(3).map((a) => a.json.delivered)).toEqual([
      ['invoice.payment_failed'],
      ['invoice.payment_failed'],
      ['invoice.payment_failed'],
    ]);
    expect(await factIds(store, customer)).toEqual(ids);
    expect(await historyIds(customer)).toEqual(ids);
    expect(ids).toEqual([failed.id]);
    expect(await itemStatus(store, customer)).toMatchObject({ canAllocate: false });
    const status = (await (await fetch(`${base}/customers/${customer}/billing-status`)).json()) as {
      canAllocate: boolean;
      lastEventId: string;
    };
    expect(status).toMatchObject({ canAllocate: false, lastEventId: failed.id });
  });

  it('mixes with events of the other path for the same customer', async () => {
    // Prepare
    const customer = stripeId('cus');
    const failed = buildEvent('invoice.payment_failed', { customer, object: { id: 'in_twin2' } });
    const paid = buildEvent('invoice.paid', { customer, object: { id: 'in_twin2' } });

    // Act
    await viaEventBridge(failed);
    await viaWebhook(paid);
    await viaWebhook(failed);
    await viaEventBridge(paid);
    const ids = await applied(customer, 2);

    // Assess
    expect(ids).toEqual([failed.id, paid.id].sort());
    const status = (await (await fetch(`${base}/customers/${customer}/billing-status`)).json()) as {
      canAllocate: boolean;
    };
    expect(status.canAllocate).toBe(true);
  });
});

describe('the local bus', () => {
  it('delivers nothing the stack rules would drop: other mode, Connect, disabled type', async () => {
    // Prepare
    const customer = stripeId('cus');

    // Act
    const answers = await Promise.all([
      viaEventBridge(buildEvent('customer.deleted', { customer, livemode: true })),
      viaEventBridge(buildEvent('customer.deleted', { customer, account: 'acct_connected' })),
      viaEventBridge(buildEvent('charge.failed', { customer })),
    ]);
    const accepted = await viaEventBridge(buildEvent('customer.deleted', { customer }));
    await applied(customer, 1);

    // Assess
    expect(answers.map((a) => [a.status, a.json.delivered])).toEqual([
      [200, []],
      [200, []],
      [200, []],
    ]);
    expect(accepted.json.delivered).toEqual(['customer.deleted']);
    expect(await factIds(store, customer)).toHaveLength(1);
  });

  it('refuses what is not an event of its source, queuing nothing', async () => {
    // Prepare
    const event = buildEvent('invoice.paid');

    // Act
    const answers = [
      await post('/eventbridge', 'not json'),
      await post('/eventbridge', JSON.stringify(event)),
      await viaEventBridge(event, 'aws.partner/stripe.com/ed_test_someone_else'),
      await post(
        '/eventbridge',
        JSON.stringify(
          toEnvelope({ ...event, pad: 'x'.repeat(262_144) } as StripeEvent, { source: SOURCE }),
        ),
      ),
    ];

    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 413]);
    expect(String(answers[1]!.json.error)).toMatch(/not an EventBridge event/);
    expect(String(answers[2]!.json.error)).toMatch(/receives events of .*ed_test_local only/);
  });
});

describe('redrive of EventBridge dead letters', () => {
  it('knows the DLQs EventBridge may write to from their policy', async () => {
    // Assess
    expect(await eventBridgeMayDeadLetter(sqs, queues[0]!.dlqUrl)).toBe(true);
    const other = await freshQueues(['invoice.paid']);
    expect(await eventBridgeMayDeadLetter(other.sqs, other.queues[0]!.dlqUrl)).toBe(false);
  });

  it('says so in its help', () => {
    // Assess
    const help = redrive.help().replace(/\s+/g, ' ');
    expect(help).toMatch(/A dead-letter queue that EventBridge may write to/);
    expect(help).toMatch(/with ERROR_CODE and ERROR_MESSAGE attributes/);
  });

  it('moves both kinds back as Stripe events, and they are applied', async () => {
    // Prepare: what EventBridge writes, and what SQS's own redrive leaves
    const customer = stripeId('cus');
    const q = queues.find((x) => x.type === 'invoice.payment_failed')!;
    const fromBus = buildEvent('invoice.payment_failed', { customer, object: { id: 'in_dl1' } });
    const fromProcessor = buildEvent('invoice.payment_failed', {
      customer,
      object: { id: 'in_dl2' },
    });
    const attr = (v: string) => ({ DataType: 'String', StringValue: v });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.dlqUrl,
        MessageBody: JSON.stringify(toEnvelope(fromBus, { source: SOURCE })),
        MessageAttributes: {
          RULE_ARN: attr(localRuleArn(SOURCE, q.type)),
          TARGET_ARN: attr(q.queueArn),
          ERROR_CODE: attr('NO_PERMISSIONS'),
          ERROR_MESSAGE: attr('not authorized to sqs:SendMessage'),
          RETRY_ATTEMPTS: attr('0'),
        },
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.dlqUrl,
        MessageBody: JSON.stringify(fromProcessor),
        MessageAttributes: { eventId: attr(fromProcessor.id), eventType: attr(q.type) },
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.dlqUrl,
        MessageBody: '{"not": "an event"}',
        MessageAttributes: { RULE_ARN: attr(localRuleArn(SOURCE, q.type)) },
      }),
    );
    const target = await localTarget({
      pid: process.pid,
      port: 0,
      webhookUrl: `${base}/webhook`,
      apiUrl: base,
      dynamoEndpoint: inject('dynamoEndpoint'),
      sqsEndpoint: inject('sqsEndpoint'),
      ...LOCAL_AWS,
      tableName,
      queuePrefix: 'unused',
      queues: [...queues],
      webhookSecret: 'env',
    });
    const out = capture();

    // Act
    const code = await runRedrive(['--queue', q.type, '--local'], {
      ...out.io,
      connect: async () => target,
    });

    // Assess
    expect(code).toBe(0);
    expect(out.out.join('\n')).toMatch(
      /invoice\.payment_failed\s+2\s+receive\/unwrap\/send\/delete/,
    );
    expect(out.err.join('\n')).toMatch(/left message .* in the DLQ: the dead letter is neither/);
    expect(await applied(customer, 2)).toEqual([fromBus.id, fromProcessor.id].sort());
  });
});
