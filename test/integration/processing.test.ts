// The processor against DynamoDB Local: exactly-once application, no lost update under
// real concurrency, crash windows around the commit, parking, and owner lookups.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { buildEvent, stripeId } from '../../bin/stripe-events';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { makeChargeLookup } from '../../lambdas/adapters/stripe-api';
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applyEvent, type ApplyDeps } from '../../lambdas/processor/apply-event';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { freshTable } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';

let store: FactStore;
let tableName: string;
const deps = (over: Partial<ApplyDeps> = {}): ApplyDeps => ({
  store,
  chargeLookup: null,
  clock: () => new Date(),
  ...over,
});
const body = (e: StripeEvent) => JSON.stringify(e);
const cus = () => stripeId('cus');
const statusOf = async (customerId: string) => {
  const r = await store.loadCustomer(customerId);
  return deriveBillingStatus({
    customerId,
    facts: r.facts,
    overrides: r.overrides,
    now: Math.floor(Date.now() / 1000),
    expiryWarningDays: 30,
  });
};
const sqsEvent = (events: StripeEvent[], receiveCount = 1): SQSEvent => ({
  Records: events.map((e, i) => ({
    messageId: `m${i}-${e.id}`,
    receiptHandle: 'r',
    body: body(e),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:test',
    awsRegion: 'us-east-1',
  })),
});

beforeAll(async () => {
  ({ store, tableName } = await freshTable());
});

describe('exactly-once application', () => {
  it('applies an event once and recognises a redelivery as a duplicate', async () => {
    const customer = cus();
    const event = buildEvent('invoice.payment_failed', { customer });
    expect((await applyEvent(body(event), 'invoice.payment_failed', deps())).outcome).toBe(
      'applied',
    );
    const before = await store.loadCustomer(customer);
    const later = () => new Date(Date.now() + 60_000);
    expect(
      (await applyEvent(body(event), 'invoice.payment_failed', deps({ clock: later }))).outcome,
    ).toBe('duplicate');
    const after = await store.loadCustomer(customer);
    expect(after.facts.map((f) => f.eventId)).toEqual([event.id]);
    expect(after).toEqual(before); // not even the commit time moved
  });

  it('rejects a message of another type than its processor, changing nothing', async () => {
    const customer = cus();
    const event = buildEvent('invoice.paid', { customer });
    await expect(applyEvent(body(event), 'charge.failed', deps())).rejects.toThrow(/processor/);
    expect((await store.loadCustomer(customer)).facts).toEqual([]);
  });

  it('changes no record for an event without a customer (a guest payment)', async () => {
    const event = buildEvent('charge.failed', { customer: null });
    const result = await applyEvent(body(event), 'charge.failed', deps());
    expect(result.outcome).toBe('no_customer');
  });

  it('loses nothing when processors apply dozens of events of one customer concurrently', async () => {
    const customer = cus();
    const types = [
      'invoice.payment_failed',
      'charge.failed',
      'customer.updated',
      'payment_method.attached',
    ];
    const events = Array.from({ length: 48 }, (_, i) =>
      buildEvent(types[i % types.length]!, {
        customer,
        created: 1_700_000_000 + i,
        object: types[i % types.length] === 'customer.updated' ? {} : { id: `obj_${i}` },
      }),
    );
    // One handler per type, like one Lambda per queue, all running at once.
    const handlers = new Map(
      types.map((t) => [
        t,
        makeProcessorHandler({ ...deps(), eventType: t, logger: testLogger, metrics: testMetrics }),
      ]),
    );
    const results = await Promise.all(events.map((e) => handlers.get(e.type)!(sqsEvent([e]))));
    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);
    const record = await store.loadCustomer(customer);
    expect(record.facts.map((f) => f.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    const status = await statusOf(customer);
    expect(status?.blockers.filter((b) => b.reason === 'payment_failed')).toHaveLength(24);
  });
});

describe('crashes around the commit', () => {
  const faultyStore = (when: 'before' | 'after') => {
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
    let armed = true;
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        if (armed && context.commandName === 'PutItemCommand') {
          if (when === 'before') {
            armed = false;
            throw new Error('injected: connection reset before the write');
          }
          const result = await next(args);
          armed = false;
          throw new Error('injected: lost the answer after the write');
          return result;
        }
        return next(args);
      },
      { step: 'initialize', name: 'faultInjection' },
    );
    return new FactStore(ddb, tableName);
  };

  it('recognises the redelivery as a duplicate when the failure came after the commit', async () => {
    const customer = cus();
    const event = buildEvent('invoice.payment_failed', { customer });
    const handler = makeProcessorHandler({
      ...deps({ store: faultyStore('after') }),
      eventType: event.type,
      logger: testLogger,
      metrics: testMetrics,
    });
    const first = await handler(sqsEvent([event]));
    expect(first.batchItemFailures).toHaveLength(1); // not acknowledged: SQS redelivers
    const second = await handler(sqsEvent([event], 2));
    expect(second.batchItemFailures).toEqual([]);
    expect((await applyEvent(body(event), event.type, deps())).outcome).toBe('duplicate');
    expect((await store.loadCustomer(customer)).facts).toHaveLength(1);
  });

  it('applies the redelivery once when the failure came before the commit', async () => {
    const customer = cus();
    const event = buildEvent('invoice.payment_failed', { customer });
    const handler = makeProcessorHandler({
      ...deps({ store: faultyStore('before') }),
      eventType: event.type,
      logger: testLogger,
      metrics: testMetrics,
    });
    expect((await handler(sqsEvent([event]))).batchItemFailures).toHaveLength(1);
    expect((await store.loadCustomer(customer)).facts).toHaveLength(0);
    expect((await handler(sqsEvent([event], 2))).batchItemFailures).toEqual([]);
    expect((await store.loadCustomer(customer)).facts).toHaveLength(1);
  });
});

describe('disputes and detaches that wait for their customer', () => {
  it('parks a dispute whose charge is unknown and applies it when the charge event arrives', async () => {
    const customer = cus();
    const chargeId = stripeId('ch');
    const dispute = buildEvent('charge.dispute.created', {
      object: { id: stripeId('dp'), charge: chargeId, payment_intent: null },
    });
    expect((await applyEvent(body(dispute), dispute.type, deps())).outcome).toBe('parked');
    expect((await store.listParked()).map((p) => p.eventId)).toContain(dispute.id);

    const charge = buildEvent('charge.succeeded', { customer, object: { id: chargeId } });
    const result = await applyEvent(body(charge), charge.type, deps());
    expect(result.unparked).toBe(1);
    expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
    expect((await statusOf(customer))?.blockers.map((b) => b.reason)).toEqual(['dispute_open']);
  });

  it('resolves a dispute through a PaymentIntent event that named its latest charge', async () => {
    const customer = cus();
    const chargeId = stripeId('ch');
    const pi = buildEvent('payment_intent.succeeded', {
      customer,
      object: { id: stripeId('pi'), latest_charge: chargeId },
    });
    await applyEvent(body(pi), pi.type, deps());
    const dispute = buildEvent('charge.dispute.created', {
      object: { charge: chargeId, payment_intent: null },
    });
    const result = await applyEvent(body(dispute), dispute.type, deps());
    expect(result).toMatchObject({ outcome: 'applied', customerId: customer });
  });

  it('applies a dispute processed at the same moment as its revealing charge event', async () => {
    const pairs = Array.from({ length: 12 }, () => {
      const customer = cus();
      const chargeId = stripeId('ch');
      return {
        customer,
        charge: buildEvent('charge.failed', {
          customer,
          object: { id: chargeId, payment_intent: 'pi_x' },
        }),
        dispute: buildEvent('charge.dispute.created', { object: { charge: chargeId } }),
      };
    });
    await Promise.all(
      pairs.flatMap((p) => [
        applyEvent(body(p.dispute), p.dispute.type, deps()),
        applyEvent(body(p.charge), p.charge.type, deps()),
      ]),
    );
    for (const p of pairs) {
      const facts = (await store.loadCustomer(p.customer)).facts.map((f) => f.eventId);
      expect(facts).toContain(p.dispute.id);
    }
    const parked = (await store.listParked()).map((p) => p.eventId);
    for (const p of pairs) expect(parked).not.toContain(p.dispute.id);
  });

  it('asks the Stripe API for the charge when a key is configured', async () => {
    const customer = cus();
    const seen: string[] = [];
    const server: Server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      const guest = req.url?.includes('ch_guest');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'charge', id: 'x', customer: guest ? null : customer }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const lookup = makeChargeLookup('sk_test_123', base);
      const dispute = buildEvent('charge.dispute.created', {
        object: { charge: 'ch_known_by_stripe' },
      });
      const result = await applyEvent(body(dispute), dispute.type, deps({ chargeLookup: lookup }));
      expect(result).toMatchObject({ outcome: 'applied', customerId: customer });
      expect(seen).toEqual(['/v1/charges/ch_known_by_stripe Bearer sk_test_123']);
      const guest = buildEvent('charge.dispute.created', { object: { charge: 'ch_guest' } });
      expect(
        (await applyEvent(body(guest), guest.type, deps({ chargeLookup: lookup }))).outcome,
      ).toBe('no_customer');
    } finally {
      server.close();
    }
  });

  it('fails (for a retry) when the Stripe API lookup fails, parking nothing', async () => {
    const lookup = makeChargeLookup('sk_test_123', 'http://127.0.0.1:9');
    const dispute = buildEvent('charge.dispute.created', { object: { charge: stripeId('ch') } });
    await expect(
      applyEvent(body(dispute), dispute.type, deps({ chargeLookup: lookup })),
    ).rejects.toThrow();
    expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
  });

  it('fails (for a retry) when the Stripe API answers 404 for the charge, parking nothing', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { type: 'invalid_request_error', code: 'resource_missing' } }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const lookup = makeChargeLookup('sk_test_123', base);
      const dispute = buildEvent('charge.dispute.created', { object: { charge: stripeId('ch') } });
      await expect(
        applyEvent(body(dispute), dispute.type, deps({ chargeLookup: lookup })),
      ).rejects.toThrow(/404/);
      expect((await store.listParked()).map((p) => p.eventId)).not.toContain(dispute.id);
    } finally {
      server.close();
    }
  });

  it('finds the customer of a detach without previous_attributes from the attach', async () => {
    const customer = cus();
    const pmId = stripeId('pm');
    const attach = buildEvent('payment_method.attached', { customer, object: { id: pmId } });
    await applyEvent(body(attach), attach.type, deps());
    const detach = buildEvent('payment_method.detached', {
      object: { id: pmId },
      previousAttributes: {},
    });
    const result = await applyEvent(body(detach), detach.type, deps());
    expect(result).toMatchObject({ outcome: 'applied', customerId: customer });
    expect((await statusOf(customer))?.paymentMethods[0]?.status).toBe('deleted');
  });
});
