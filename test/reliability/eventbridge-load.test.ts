// Through `npm start -- --ingress both`: a shuffled, duplicated workload over hundreds of
// customers sent concurrently through the local EventBridge route (the bus and its rules),
// with a tenth of the events also arriving as signed webhooks, must converge to the oracle
// with every event applied exactly once: nothing lost, nothing doubled, and each customer's
// status item equal to the full derivation over its stored facts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOCAL_EVENTBRIDGE_SOURCE } from '../../bin/local/eventbridge-bus';
import { signatureHeader } from '../../bin/events/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { toEnvelope } from '../../lambdas/eventbridge/envelope';
import { eventually, factIds, settled } from '../support/local-stack';
import { postUntilAccepted, startLocalStack, type LocalStack } from '../e2e/npm-start';
import { assessAgainstOracle, httpReads, makeWorkload } from './workload';

let stack: LocalStack;

const viaEventBridge = (event: StripeEvent) =>
  postUntilAccepted(
    `${stack.base}/eventbridge`,
    JSON.stringify(toEnvelope(event, { source: DEFAULT_LOCAL_EVENTBRIDGE_SOURCE })),
  );

const viaWebhook = (event: StripeEvent) => {
  const payload = JSON.stringify(event);
  return postUntilAccepted(`${stack.base}/webhook`, payload, {
    'stripe-signature': signatureHeader(payload, DEFAULTS.localWebhookSecret),
  });
};

const { status, historyIds } = httpReads(() => stack.base);

beforeAll(async () => {
  stack = await startLocalStack({
    via: 'node',
    args: ['--ingress', 'both'],
    env: { LOG_LEVEL: 'ERROR' },
    readyTimeoutMs: 150_000,
    stateDirPrefix: 'sbg-ebrel-',
  });
});

afterAll(() => stack?.stop());

describe('load through the EventBridge route', () => {
  it('applies every event once: shuffled, duplicated, concurrent, some arriving both ways', async () => {
    // Prepare
    const workload = makeWorkload({ customers: 150, events: 2_500, duplicateRatio: 0.1, seed: 23 });
    const alsoWebhook = workload.events.filter((_, i) => i % 10 === 3).map((e) => e.event);
    const sends: (() => Promise<unknown>)[] = [
      ...workload.deliveries.map((e) => () => viaEventBridge(e)),
      ...alsoWebhook.map((e) => () => viaWebhook(e)),
    ];
    // Interleave the webhook copies among the bus deliveries.
    for (let k = sends.length - 1, j = 7; k > 0; k--, j = (j * 31 + 17) % 9973) {
      const m = j % (k + 1);
      [sends[k], sends[m]] = [sends[m]!, sends[k]!];
    }

    // Act
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < sends.length) await sends[next++]!();
      }),
    );
    const sentSeconds = (Date.now() - started) / 1000;

    // Assess
    const { customers, missing, doubled } = await assessAgainstOracle(
      workload,
      { status, historyIds },
      async (customer, ids) => {
        // The store itself: one fact per event, and the status item the full derivation
        // (the processor writes the fact, then the item: give the last item its moment).
        await eventually(() => settled(stack.store, customer, ids.size), {
          timeoutMs: 30_000,
          what: `the status item of ${customer} to match its ${ids.size} facts`,
        });
        expect(await factIds(stack.store, customer)).toEqual([...ids].sort());
      },
    );
    const figures = {
      events: workload.events.length,
      busDeliveries: workload.deliveries.length,
      duplicates: workload.deliveries.length - workload.events.length,
      alsoWebhook: alsoWebhook.length,
      customers,
      sentSeconds,
      lost: missing,
      doubled,
    };
    console.log(`eventbridge load: ${JSON.stringify(figures)}`);
    expect(missing).toBe(0);
    expect(doubled).toBe(0);
  });
});
