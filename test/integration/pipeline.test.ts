// The local pipeline against both emulators: SQS redelivery and dead-lettering, partial
// batch deletes, the stream-fed notifier, and the status API.
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline';
import type { QueuePair } from '../../bin/local/provision';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import type { Announcement } from '../../lambdas/notifier/make-notifier';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  eventually,
  freshQueues,
  freshTable,
  queueDepth,
  settled,
  uniqueName,
} from '../support/local-stack';
import { createBillingTable } from '../../bin/local/provision';
import { startTestPipeline } from '../support/test-pipeline';

const TYPES = ['invoice.payment_failed', 'invoice.paid'];
let pipeline: LocalPipeline;
let queues: QueuePair[];
let sqs: Awaited<ReturnType<typeof freshQueues>>['sqs'];
let store: FactStore;
const announcements: Announcement[] = [];

const queueOf = (type: string) => queues.find((q) => q.type === type)!;
const send = (type: string, messageBody: string) =>
  sqs.send(new SendMessageCommand({ QueueUrl: queueOf(type).queueUrl, MessageBody: messageBody }));
const depth = (url: string) => queueDepth(sqs, url);

function api(method: string, path: string, body?: unknown): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'x-billing-gate-actor': 'local:test' },
    requestContext: { http: { method } } as APIGatewayProxyEventV2['requestContext'],
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

beforeAll(async () => {
  ({ store, sqs, queues, pipeline } = await startTestPipeline({
    types: TYPES,
    queues: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 },
    announce: async (a) => void announcements.push(a),
  }));
});

afterAll(async () => {
  await pipeline?.stop();
});

describe('the SQS pollers', () => {
  it('dead-letters a message that always fails after maxReceiveCount receives', async () => {
    await send('invoice.paid', '{"this is": "not a Stripe event"}');
    const dlq = queueOf('invoice.paid').dlqUrl;
    await eventually(async () => (await depth(dlq)) === 1, {
      what: 'the poison message in the DLQ',
    });
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, AttributeNames: ['All'] }),
    );
    expect(got.Messages?.[0]?.Body).toBe('{"this is": "not a Stripe event"}');
  });

  it('deletes the good messages of a batch with one failing message', async () => {
    const customer = stripeId('cus');
    const good = [1, 2, 3].map((i) =>
      buildEvent('invoice.payment_failed', { customer, object: { id: `in_good${i}` } }),
    );
    await send('invoice.payment_failed', 'poison');
    for (const e of good) await send('invoice.payment_failed', JSON.stringify(e));
    await eventually(() => settled(store, customer, 3), {
      what: 'the three good events applied',
    });
    // Only the poison message is still around (in flight, or dead-lettered).
    await eventually(
      async () => {
        const q = await depth(queueOf('invoice.payment_failed').queueUrl);
        const d = await depth(queueOf('invoice.payment_failed').dlqUrl);
        return q + d === 1;
      },
      { what: 'only the poison message left', intervalMs: 1000 },
    );
    expect((await store.allFacts(customer)).facts).toHaveLength(3);
  });
});

describe('the notifier', () => {
  it('announces exactly the changes of canAllocate, including one caused by an override', async () => {
    const customer = stripeId('cus');
    const mine = () => announcements.filter((a) => a.customerId === customer);
    const failed = buildEvent('invoice.payment_failed', { customer, object: { id: 'in_n1' } });
    await send(failed.type, JSON.stringify(failed));
    await eventually(async () => mine().length === 1, { what: 'the block announcement' });
    expect(mine()[0]).toMatchObject({ canAllocate: false, blockers: ['payment_failed'] });

    // A second failure changes nothing announced.
    const again = buildEvent('invoice.payment_failed', { customer, object: { id: 'in_n2' } });
    await send(again.type, JSON.stringify(again));
    await eventually(() => settled(store, customer, 2));

    const allow = await pipeline.statusApi(
      api('PUT', `/customers/${customer}/override`, { mode: 'allow', reason: 'paid by wire' }),
    );
    expect(allow.statusCode).toBe(200);
    await eventually(async () => mine().length === 2, { what: 'the override announcement' });
    expect(mine().map((a) => a.canAllocate)).toEqual([false, true]);
    expect(mine()[1]?.eventId).toMatch(/^ovr_/);
  });
});

describe('the status API', () => {
  it('answers 400 for a malformed id and 404 for an unknown customer', async () => {
    expect(
      (await pipeline.statusApi(api('GET', '/customers/nope/billing-status'))).statusCode,
    ).toBe(400);
    expect(
      (await pipeline.statusApi(api('GET', '/customers/cus_Unknown1/billing-status'))).statusCode,
    ).toBe(404);
    expect(
      (await pipeline.statusApi(api('GET', '/customers/cus_Unknown1/events'))).statusCode,
    ).toBe(404);
  });

  it('serves the billing status and the applied events, each once, in created order', async () => {
    const customer = stripeId('cus');
    const later = buildEvent('invoice.paid', { customer, created: 200, object: { id: 'in_s1' } });
    const earlier = buildEvent('invoice.payment_failed', {
      customer,
      created: 100,
      object: { id: 'in_s1' },
    });
    await send(later.type, JSON.stringify(later));
    await send(earlier.type, JSON.stringify(earlier));
    await send(later.type, JSON.stringify(later)); // a duplicate delivery
    await eventually(() => settled(store, customer, 2));
    const status = await pipeline.statusApi(api('GET', `/customers/${customer}/billing-status`));
    expect(JSON.parse(status.body!)).toMatchObject({
      customerId: customer,
      canAllocate: true,
      blockers: [],
    });
    const events = await pipeline.statusApi(api('GET', `/customers/${customer}/events`));
    expect(JSON.parse(events.body!).map((e: { id: string }) => e.id)).toEqual([
      earlier.id,
      later.id,
    ]);
  });

  it.each([
    ['a non-JSON body', 'not json', /JSON/],
    ['an unknown mode', { mode: 'maybe', reason: 'x' }, /mode/],
    ['a missing reason', { mode: 'deny' }, /reason/],
    ['an over-long reason', { mode: 'deny', reason: 'x'.repeat(501) }, /too long/],
  ])('refuses an override with %s, changing nothing', async (_n, body, reason) => {
    const customer = stripeId('cus');
    const res = await pipeline.statusApi(api('PUT', `/customers/${customer}/override`, body));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!).error).toMatch(reason);
    expect(await store.overrides(customer)).toEqual([]);
  });

  it('answers 404 to clearing the override of an unknown customer, recording nothing', async () => {
    const customer = stripeId('cus');
    const res = await pipeline.statusApi(api('DELETE', `/customers/${customer}/override`));
    expect(res.statusCode).toBe(404);
    expect(await store.overrides(customer)).toEqual([]);
  });

  it('records the acting operator with the override', async () => {
    const customer = stripeId('cus');
    await pipeline.statusApi(
      api('PUT', `/customers/${customer}/override`, { mode: 'allow', reason: 'trusted' }),
    );
    const [override] = await store.overrides(customer);
    expect(override).toMatchObject({ mode: 'allow', reason: 'trusted', actor: 'local:test' });
  });

  it('sets and clears an override, keeping both in the history with their reason', async () => {
    const customer = stripeId('cus');
    const deny = await pipeline.statusApi(
      api('PUT', `/customers/${customer}/override`, { mode: 'deny', reason: 'fraud review' }),
    );
    expect(JSON.parse(deny.body!)).toMatchObject({
      canAllocate: false,
      override: { mode: 'deny', reason: 'fraud review' },
      blockers: [{ reason: 'operator_deny', objectId: customer, eventId: null }],
    });
    const cleared = await pipeline.statusApi(api('DELETE', `/customers/${customer}/override`));
    expect(JSON.parse(cleared.body!)).toMatchObject({
      canAllocate: true,
      override: null,
      blockers: [],
    });
    const events = JSON.parse(
      (await pipeline.statusApi(api('GET', `/customers/${customer}/events`))).body!,
    ) as { id: string; type: string; reason: string | null }[];
    expect(events.map((e) => [e.type, e.reason])).toEqual([
      ['override.deny', 'fraud review'],
      ['override.cleared', null],
    ]);
    expect(events.every((e) => e.id.startsWith('ovr_'))).toBe(true);
  });
});

describe('the stream poller', () => {
  it('keeps feeding the notifier after other tables move the emulator stream counter', async () => {
    // DynamoDB Local numbers stream records across tables and calls an iterator taken on an
    // empty shard "trimmed" once another table has taken the next number.
    const table = await freshTable();
    const own = await freshQueues(['invoice.payment_failed']);
    const seen: Announcement[] = [];
    const local = await startLocalPipeline({
      dynamoEndpoint: inject('dynamoEndpoint'),
      sqsEndpoint: inject('sqsEndpoint'),
      tableName: table.tableName,
      streamArn: table.streamArn,
      queues: own.queues,
      announce: async (a) => void seen.push(a),
    });
    try {
      const other = uniqueName('other');
      await createBillingTable(table.ddb, other);
      await table.ddb.send(
        new PutItemCommand({ TableName: other, Item: { pk: { S: 'x' }, sk: { S: 'y' } } }),
      );
      const customer = stripeId('cus');
      const failed = buildEvent('invoice.payment_failed', { customer });
      await own.sqs.send(
        new SendMessageCommand({
          QueueUrl: own.queues[0]!.queueUrl,
          MessageBody: JSON.stringify(failed),
        }),
      );
      await eventually(async () => seen.some((a) => a.customerId === customer), {
        what: 'the announcement',
      });
      expect(seen.find((a) => a.customerId === customer)).toMatchObject({
        canAllocate: false,
        eventId: failed.id,
      });
    } finally {
      await local.stop();
    }
  });
});
