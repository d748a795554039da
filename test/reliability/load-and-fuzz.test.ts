// Through `npm start`: thousands of events over hundreds of customers, shuffled and
// duplicated, sent concurrently, must converge to the oracle; then a fuzzer throws
// malformed, forged, truncated, oversized and replayed requests at /webhook.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, signatureHeader, stripeId } from '../../bin/events/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { rebuildAll } from '../../lambdas/rebuild/rebuild-status';
import { eventually } from '../support/local-stack';
import { postUntilAccepted, startLocalStack, type LocalStack } from '../e2e/npm-start';
import { assessAgainstOracle, httpReads, makeWorkload } from './workload';
import { DEFAULT_GATE_SETTINGS } from '../../lambdas/settings';

const SECRET = DEFAULTS.localWebhookSecret;
let stack: LocalStack;
let base: string;

async function postRaw(body: string | Buffer, headers: Record<string, string>) {
  const res = await fetch(`${base}/webhook`, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

/** Sends like Stripe does: retries (with backoff) until a 2xx. */
async function deliver(event: StripeEvent): Promise<void> {
  const payload = JSON.stringify(event);
  await postUntilAccepted(`${base}/webhook`, payload, {
    'stripe-signature': signatureHeader(payload, SECRET),
  });
}

const { status, historyIds } = httpReads(() => base);

beforeAll(async () => {
  stack = await startLocalStack({
    via: 'node',
    env: { LOG_LEVEL: 'ERROR' },
    readyTimeoutMs: 150_000,
    stateDirPrefix: 'sbg-rel-',
  });
  base = stack.base;
});

afterAll(() => stack?.stop());

describe('load with an oracle', () => {
  it('converges 5,000+ shuffled, duplicated, concurrent events over 200+ customers', async () => {
    const workload = makeWorkload({ customers: 220, events: 5_200, duplicateRatio: 0.1, seed: 7 });
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < workload.deliveries.length) await deliver(workload.deliveries[next++]!);
      }),
    );
    const sentSeconds = (Date.now() - started) / 1000;

    const { customers, missing, doubled } = await assessAgainstOracle(workload, {
      status,
      historyIds,
    });
    const figures = {
      events: workload.events.length,
      deliveries: workload.deliveries.length,
      duplicates: workload.deliveries.length - workload.events.length,
      customers,
      sentSeconds,
      lost: missing,
      doubled,
    };
    console.log(`load: ${JSON.stringify(figures)}`);
    expect(missing).toBe(0);
    expect(doubled).toBe(0);
    // No update of a status item was lost: each equals the full derivation over its
    // customer's facts, which is what a rebuild would write.
    const rebuild = await rebuildAll(
      stack.store,
      { settings: DEFAULT_GATE_SETTINGS, clock: Date.now },
      { dryRun: true },
    );
    expect(rebuild).toMatchObject({ customers, unchanged: customers, wouldChange: 0, failed: 0 });
  });
});

describe('bad input', () => {
  it('accepts none of thousands of malformed, forged, truncated, oversized and replayed requests', async () => {
    const customer = stripeId('cus');
    const valid = buildEvent('invoice.payment_failed', { customer, object: { id: 'in_fuzz' } });
    const validPayload = JSON.stringify(valid);
    const validHeader = signatureHeader(validPayload, SECRET);
    const stale = signatureHeader(validPayload, SECRET, Math.floor(Date.now() / 1000) - 3600);

    const attack = fc.oneof(
      // Random bytes with a well-formed header for other bytes.
      fc
        .uint8Array({ maxLength: 2048 })
        .map((b) => ({ body: Buffer.from(b), header: validHeader })),
      // The valid payload, truncated or with one byte flipped, under its original signature.
      fc
        .nat(validPayload.length - 1)
        .map((n) => ({ body: validPayload.slice(0, n), header: validHeader })),
      fc.nat(validPayload.length - 1).map((n) => ({
        body:
          validPayload.slice(0, n) +
          (validPayload[n] === 'a' ? 'b' : 'a') +
          validPayload.slice(n + 1),
        header: validHeader,
      })),
      // Forged with another secret, or a random header.
      fc.string().map((s) => ({
        body: validPayload,
        header: signatureHeader(validPayload, `whsec_${s.replace(/\W/g, '') || 'x'}`),
      })),
      // (printable ASCII: anything else never leaves a real HTTP client)
      fc
        .string({ maxLength: 300 })
        .map((h) => ({ body: validPayload, header: h.replace(/[^\x20-\x7e]/g, '') })),
      // Replayed outside the tolerance.
      fc.constant({ body: validPayload, header: stale }),
      // Oversized, correctly signed.
      fc.constant(null).map(() => {
        const big = JSON.stringify({ ...valid, pad: 'x'.repeat(1_000_001) });
        return { body: big, header: signatureHeader(big, SECRET) };
      }),
      // Signed JSON that is not a Stripe event.
      fc.jsonValue().map((v) => {
        const body = JSON.stringify({ not: 'an event', v });
        return { body, header: signatureHeader(body, SECRET) };
      }),
    );
    const requests = fc.sample(attack, { numRuns: 2_500, seed: 11 });
    const statuses = new Map<number, number>();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (sent < requests.length) {
          const r = requests[sent++]!;
          // A connection the server closes (its HTTP parser refusing a request, or a
          // keep-alive race) accepted nothing either; the health check below catches a crash.
          const res = await postRaw(r.body, { 'stripe-signature': r.header }).catch(() => ({
            status: 0,
            text: '',
          }));
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.text).not.toMatch(/"queued":true/);
          if (sent === 1_000) {
            // A valid event in the middle still goes through.
            const ok = await postRaw(validPayload, {
              'stripe-signature': signatureHeader(validPayload, SECRET),
            });
            expect(ok.status).toBe(200);
          }
        }
      }),
    );
    console.log(
      `fuzz: ${requests.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect([...statuses.keys()].every((s) => s === 400 || s === 413 || s === 0)).toBe(true);
    expect(statuses.get(0) ?? 0).toBeLessThan(requests.length / 100);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    // Only the valid event changed anything.
    const final = await eventually(() => historyIds(customer).then((h) => (h.length ? h : null)));
    expect(final).toEqual([valid.id]);
  });
});
