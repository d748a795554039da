// Random but realistic workloads for the reliability runs, with their oracle: the status
// each customer must end with, computed by applying the same events in `created` order.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { AppliedFact, BillingStatus } from '../../lambdas/core/facts';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { expect } from 'vitest';
import { applied } from '../support/derive';
import { eventually } from '../support/local-stack';
import { DEFAULT_GATE_SETTINGS } from '../../lambdas/settings';

const TYPES = [
  'invoice.payment_failed',
  'invoice.paid',
  'invoice.marked_uncollectible',
  'invoice.payment_action_required',
  'payment_intent.payment_failed',
  'payment_intent.succeeded',
  'payment_intent.canceled',
  'charge.failed',
  'charge.succeeded',
  'customer.subscription.updated',
  'payment_method.attached',
  'payment_method.detached',
  'customer.source.created',
  'customer.source.expiring',
  'customer.updated',
] as const;
const SUB_STATUSES = ['active', 'past_due', 'unpaid', 'paused', 'trialing'];

export interface Workload {
  /** Every distinct event, with the customer it belongs to. */
  events: { event: StripeEvent; customer: string }[];
  /** The delivery: shuffled, with duplicates. */
  deliveries: StripeEvent[];
  customers: string[];
}

export function makeWorkload({
  customers: customerCount,
  events: eventCount,
  duplicateRatio,
  seed,
  types = TYPES,
  objects = 3,
}: {
  customers: number;
  events: number;
  duplicateRatio: number;
  seed: number;
  /** The types drawn from (disputes come on top, on succeeded charges). @default a mix of 15 */
  types?: readonly string[];
  /** Invoices, PaymentIntents, subscriptions, methods and cards per customer. @default 3 */
  objects?: number;
}): Workload {
  const rand = fc.sample(fc.nat(1_000_000), { numRuns: eventCount * 12 + 10, seed });
  let i = 0;
  const next = (n: number) => rand[i++ % rand.length]! % n;
  const customers = Array.from({ length: customerCount }, () => stripeId('cus'));
  const t0 = 1_790_000_000;
  const events: Workload['events'] = [];
  const charges: { customer: string; chargeId: string }[] = [];
  for (let k = 0; k < eventCount; k++) {
    const customer = customers[next(customers.length)]!;
    const created = t0 + next(40); // a narrow range: many ties
    // One dispute in 25, on a succeeded charge of the set (its customer found via the charge).
    if (charges.length > 0 && next(25) === 0) {
      const target = charges[next(charges.length)]!;
      const type = next(3) === 0 ? 'charge.dispute.closed' : 'charge.dispute.created';
      events.push({
        customer: target.customer,
        event: buildEvent(type, {
          created,
          object: { id: `dp_${target.chargeId.slice(3, 10)}`, charge: target.chargeId },
        }),
      });
      continue;
    }
    const type = types[next(types.length)]!;
    const suffix = `${customer.slice(4, 10)}${next(objects)}`;
    let object: Record<string, unknown> = {};
    if (type.startsWith('invoice.')) object = { id: `in_${suffix}` };
    if (type.startsWith('payment_intent.')) object = { id: `pi_${suffix}`, latest_charge: null };
    if (type.startsWith('charge.')) {
      object = { id: stripeId('ch'), payment_intent: null };
      if (type === 'charge.succeeded') charges.push({ customer, chargeId: object.id as string });
    }
    if (type.startsWith('customer.subscription'))
      object = { id: `sub_${suffix}`, status: SUB_STATUSES[next(SUB_STATUSES.length)] };
    if (type.startsWith('payment_method.')) object = { id: `pm_${suffix}` };
    if (type.startsWith('customer.source.'))
      object = { id: `card_${suffix}`, exp_month: 1 + next(12), exp_year: 2026 + next(3) };
    events.push({
      customer,
      event: buildEvent(type, {
        customer,
        created,
        object,
        ...(type === 'payment_method.detached' ? { previousAttributes: { customer } } : {}),
      }),
    });
  }
  const deliveries = events.map((e) => e.event);
  const dups = Math.round(deliveries.length * duplicateRatio);
  for (let d = 0; d < dups; d++) deliveries.push(deliveries[next(events.length)]!);
  for (let k = deliveries.length - 1; k > 0; k--) {
    const j = next(k + 1);
    [deliveries[k], deliveries[j]] = [deliveries[j]!, deliveries[k]!];
  }
  return { events, deliveries, customers };
}

/** The status each customer must have: the same events applied one by one in created order. */
export function oracle(workload: Workload, now: number): Map<string, BillingStatus> {
  const byCustomer = new Map<string, AppliedFact[]>();
  const ordered = [...workload.events].sort((a, b) => a.event.created - b.event.created);
  for (const { event, customer } of ordered) {
    const list = byCustomer.get(customer) ?? [];
    list.push(applied(event, customer));
    byCustomer.set(customer, list);
  }
  const result = new Map<string, BillingStatus>();
  for (const [customer, facts] of byCustomer) {
    result.set(
      customer,
      deriveBillingStatus({
        customerId: customer,
        facts,
        overrides: [],
        now,
        settings: DEFAULT_GATE_SETTINGS,
      })!,
    );
  }
  return result;
}

/** The parts of a status that must match the oracle (not the record's own bookkeeping). */
export const essence = (s: BillingStatus) => ({
  canAllocate: s.canAllocate,
  blockers: s.blockers,
  warnings: s.warnings,
  paymentMethods: s.paymentMethods,
});

/** A customer's status and history through `get` (a path to its status code and body). */
function readsVia(get: (path: string) => Promise<{ status: number; body: string }>) {
  return {
    async status(customer: string): Promise<BillingStatus | null> {
      const res = await get(`/customers/${customer}/billing-status`);
      return res.status === 200 ? (JSON.parse(res.body) as BillingStatus) : null;
    },
    async historyIds(customer: string): Promise<string[]> {
      const res = await get(`/customers/${customer}/events`);
      return res.status === 200 ? (JSON.parse(res.body) as { id: string }[]).map((e) => e.id) : [];
    },
  };
}

/** A running local stack's status and history, read over HTTP as a user would. */
export function httpReads(base: () => string) {
  return readsVia(async (path) => {
    const res = await fetch(`${base()}${path}`);
    return { status: res.status, body: await res.text() };
  });
}

/** The same reads answered by a status API handler in this process (a pipeline's statusApi). */
export function handlerReads(
  statusApi: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>,
) {
  return readsVia(async (rawPath) => {
    const res = await statusApi({
      rawPath,
      requestContext: { http: { method: 'GET' } },
      headers: {},
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);
    return { status: res.statusCode ?? 0, body: res.body ?? '' };
  });
}

/**
 * Waits until each customer's history lists as many events as the workload sent it, then
 * counts the events missing or listed twice and checks each status against the oracle.
 * `alsoCheck` runs further checks per customer (given its event ids).
 */
export async function assessAgainstOracle(
  workload: Workload,
  reads: ReturnType<typeof httpReads>,
  alsoCheck?: (customer: string, ids: ReadonlySet<string>) => Promise<void>,
): Promise<{ customers: number; missing: number; doubled: number }> {
  const expected = oracle(workload, Math.floor(Date.now() / 1000));
  const idsByCustomer = new Map<string, Set<string>>();
  for (const { event, customer } of workload.events) {
    const set = idsByCustomer.get(customer) ?? new Set<string>();
    set.add(event.id);
    idsByCustomer.set(customer, set);
  }
  let missing = 0;
  let doubled = 0;
  for (const [customer, ids] of idsByCustomer) {
    const history = await eventually(
      async () => {
        const got = await reads.historyIds(customer);
        return got.length >= ids.size ? got : null;
      },
      { timeoutMs: 180_000, intervalMs: 200, what: `history of ${customer}` },
    );
    doubled += history.length - new Set(history).size;
    missing += [...ids].filter((id) => !history.includes(id)).length;
    await alsoCheck?.(customer, ids);
    // A fact is listed as soon as it is written; the status item follows a moment later (the
    // status reflects an event by the time its message is deleted). A lost update would never
    // converge, so the wait is bounded, then the diff is shown.
    const want = essence(expected.get(customer)!);
    const converged = await eventually(
      async () => isDeepStrictEqual(essence((await reads.status(customer))!), want),
      { timeoutMs: 30_000, intervalMs: 200, what: `status of ${customer}` },
    ).catch(() => false);
    if (!converged) expect(essence((await reads.status(customer))!)).toEqual(want);
  }
  return { customers: idsByCustomer.size, missing, doubled };
}
