// Customer histories for the bench: a usage-billed customer charged every hour (each hour a
// `charge.succeeded` naming its PaymentIntent and a `payment_intent.succeeded`; one hour a
// day the first attempt fails first), with a card and a subscription. Big histories are
// written directly (BatchWriteItem of fact items, then one rebuild of the status item), not
// event by event, so 10,000 facts take seconds.

import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FactStore, factItem } from '../../lambdas/adapters/fact-store';
import type { Item } from '../../lambdas/adapters/status-item';
import type { Fact } from '../../lambdas/core/facts';
import { ruleForType } from '../../lambdas/core/rules';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { rebuildCustomer } from '../../lambdas/rebuild/rebuild-status';
import { buildEvent, stripeId } from '../events/stripe-events';
import { DEFAULT_GATE_SETTINGS } from '../../lambdas/settings';

const HOUR = 3600;
/** One hour in this many begins with a failed attempt (a declined card, then a retry). */
export const FAILED_HOUR_EVERY = 24;

/** The events of one billed hour: the charge first, as Stripe sends them. */
export function billedHour(customer: string, created: number, failedFirst: boolean): StripeEvent[] {
  const pi = stripeId('pi');
  const events: StripeEvent[] = [];
  if (failedFirst) {
    const declined = stripeId('ch');
    events.push(
      buildEvent('charge.failed', {
        customer,
        created,
        object: { id: declined, payment_intent: pi },
      }),
      buildEvent('payment_intent.payment_failed', {
        customer,
        created,
        object: { id: pi, latest_charge: declined },
      }),
    );
  }
  const charge = stripeId('ch');
  const paidAt = failedFirst ? created + 600 : created;
  events.push(
    buildEvent('charge.succeeded', {
      customer,
      created: paidAt,
      object: { id: charge, payment_intent: pi },
    }),
    buildEvent('payment_intent.succeeded', {
      customer,
      created: paidAt,
      object: { id: pi, latest_charge: charge },
    }),
  );
  return events;
}

/** The customer's first `factCount` events, oldest first, starting at `start` (unix s). */
export function customerHistory(customer: string, factCount: number, start: number): StripeEvent[] {
  const events: StripeEvent[] = [
    buildEvent('payment_method.attached', {
      customer,
      created: start,
      object: { id: stripeId('pm') },
    }),
    buildEvent('customer.subscription.created', {
      customer,
      created: start,
      object: { id: stripeId('sub') },
    }),
  ];
  for (let hour = 1; events.length < factCount; hour++) {
    // A failing hour only when all four of its events fit: a history cut after the failure
    // would leave the customer blocked, and the next success would count as a change.
    const failing = hour % FAILED_HOUR_EVERY === 0 && factCount - events.length >= 4;
    events.push(...billedHour(customer, start + hour * HOUR, failing));
  }
  // A cut billed hour keeps its charge only, which changes nothing.
  return events.slice(0, factCount);
}

export function factOf(event: StripeEvent): Fact {
  const rule = ruleForType(event.type);
  if (!rule) throw new Error(`no rule for ${event.type}`);
  return rule.toFact(event);
}

/** The commit time the bench gives a history fact: a second after the event. */
export const appliedAtOf = (fact: Fact) => new Date((fact.created + 1) * 1000).toISOString();

/**
 * Writes the facts as items (25 per BatchWriteItem, a few batches at a time, retrying what
 * DynamoDB leaves unprocessed), then builds the status item with the rebuild's full
 * derivation: the state a customer with this history has after the processors applied it.
 */
export async function populateCustomer(
  ddb: DynamoDBClient,
  store: FactStore,
  tableName: string,
  customer: string,
  events: readonly StripeEvent[],
): Promise<void> {
  const items = events.map((e) => {
    const fact = factOf(e);
    return factItem(customer, fact, appliedAtOf(fact));
  });
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending = batches[next++]!.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
        const out = await ddb.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
        );
        pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  const outcome = await rebuildCustomer(store, customer, {
    settings: DEFAULT_GATE_SETTINGS,
    clock: Date.now,
  });
  if (outcome !== 'rebuilt') throw new Error(`rebuilding ${customer}: ${outcome}`);
}
