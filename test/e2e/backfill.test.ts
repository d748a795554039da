// The backfill story end to end (docs/behaviour.md#backfill) through `npm start`: a customer whose
// trouble predates the deployment is blocked after `npm run backfill -- --local`, and later
// real webhooks merge with the backfilled facts by the ordinary rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { BillingStatus } from '../../lambdas/core/facts';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import {
  invoiceObject,
  startFakeStripeApi,
  subscriptionObject,
  type FakeStripeApi,
} from '../support/fake-stripe-api';
import { eventually } from '../support/local-stack';
import { runCommand, startLocalStack, type LocalStack } from './npm-start';

const CUSTOMER = stripeId('cus');
const THREE_MONTHS_AGO = Math.floor(Date.now() / 1000) - 90 * 86_400;

let fake: FakeStripeApi;
let stack: LocalStack;
let stripeEnv: Record<string, string>;
const invoice = invoiceObject({
  customer: CUSTOMER,
  status: 'open',
  attemptCount: 3,
  created: THREE_MONTHS_AGO,
});
const subscription = subscriptionObject({
  customer: CUSTOMER,
  status: 'past_due',
  created: THREE_MONTHS_AGO,
});
let listingTime = 0;

async function status(): Promise<BillingStatus | null> {
  const res = await fetch(`${stack.base}/customers/${CUSTOMER}/billing-status`);
  return res.status === 200 ? ((await res.json()) as BillingStatus) : null;
}

async function deliver(event: StripeEvent) {
  expect((await stack.deliver(event)).status).toBe(200);
}

const backfillCli = () => runCommand('backfill', ['--local'], stack.commandEnv(stripeEnv));

beforeAll(async () => {
  fake = await startFakeStripeApi();
  fake.invoices.push(invoice);
  fake.subscriptions.push(subscription);
  stripeEnv = { STRIPE_API_KEY: fake.apiKey, STRIPE_API_BASE: fake.url };
  stack = await startLocalStack({ env: stripeEnv, stateDirPrefix: 'sbg-bf-' });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.close();
}, 30_000);

describe('backfill through npm start', () => {
  it('blocks a customer for an old failed invoice and a past_due subscription', async () => {
    const run = await backfillCli();
    listingTime = Number(/listing time [^,]+, (\d+)\)/.exec(run.stdout)?.[1]);

    const blocked = await eventually(
      async () => {
        const s = await status();
        return s && s.blockers.length === 2 ? s : null;
      },
      { what: `the backfilled blockers (backfill said:\n${run.stdout}${run.stderr})` },
    );
    expect(run.code).toBe(0);
    expect(blocked.canAllocate).toBe(false);
    expect(blocked.blockers).toEqual([
      {
        reason: 'payment_failed',
        objectId: invoice.id,
        since: listingTime,
        eventId: `bf_${invoice.id as string}_${listingTime}`,
      },
      {
        reason: 'subscription_past_due',
        objectId: subscription.id,
        since: listingTime,
        eventId: `bf_${subscription.id as string}_${listingTime}`,
      },
    ]);
  });

  it('lifts the invoice blocker on a real invoice.paid created before the listing', async () => {
    await deliver(
      buildEvent('invoice.paid', {
        customer: CUSTOMER,
        created: listingTime - 3600,
        object: { id: invoice.id },
      }),
    );

    const after = await eventually(
      async () => {
        const s = await status();
        return s && s.blockers.length === 1 ? s : null;
      },
      { what: 'the invoice blocker to go' },
    );
    expect(after.blockers.map((b) => b.reason)).toEqual(['subscription_past_due']);
  });

  it('lets a newer real subscription update override the backfilled past_due', async () => {
    await deliver(
      buildEvent('customer.subscription.updated', {
        customer: CUSTOMER,
        created: listingTime + 1,
        object: { id: subscription.id, status: 'active' },
        previousAttributes: { status: 'past_due' },
      }),
    );

    const after = await eventually(
      async () => {
        const s = await status();
        return s?.canAllocate ? s : null;
      },
      { what: 'the customer to be allowed again' },
    );
    expect(after.blockers).toEqual([]);
  });
});
