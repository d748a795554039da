// Section 1: CPU per event of the verifier's signature check and parse, against a bare
// HMAC + JSON.parse of the same bytes (the floor) and the `stripe` package's own check.

import { createHmac, timingSafeEqual } from 'node:crypto';
import Stripe from 'stripe';
import { verifyStripeSignature } from '../../lambdas/adapters/signature';
import { stripeEventProblem } from '../../lambdas/core/stripe-event';
import { buildEvent, signatureHeader } from '../events/stripe-events';
import { median } from './stats';

export const FLOOR = 'bare HMAC + JSON.parse (floor)';
export const OURS = 'ours (verify + parse + envelope check)';

export interface VerifierCpuRow {
  readonly kb: number;
  readonly path: string;
  readonly usPerEvent: number;
  readonly xFloor: number;
  /** Lowest and highest ratio to the floor over the rounds (each round times both). */
  readonly roundRange: readonly [number, number];
}

/** A realistic event padded (in metadata, as merchants do) to about `bytes`. */
function eventOfSize(bytes: number): string {
  const event = buildEvent('invoice.payment_failed');
  const base = JSON.stringify(event, null, 2).length;
  const obj = event.data.object as { metadata: Record<string, string> };
  let i = 0;
  while (JSON.stringify(event, null, 2).length < bytes) {
    obj.metadata[`key_${i++}`] = 'v'.repeat(Math.min(200, Math.max(1, bytes - base)));
  }
  return JSON.stringify(event, null, 2);
}

/**
 * Medians over `rounds` interleaved rounds (drift and GC hit every variant alike), at a
 * small and a large event. `scale` shrinks the iteration counts for quick runs.
 */
export function measureVerifierCpu(rounds: number, scale = 1): VerifierCpuRow[] {
  const secret = 'whsec_bench_secret';
  const stripe = new Stripe('sk_test_bench');
  const rows: VerifierCpuRow[] = [];
  for (const size of [3_000, 30_000]) {
    const payload = eventOfSize(size);
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader(payload, secret, now);
    const sig = Buffer.from(header.split('v1=')[1]!.split(',')[0]!, 'hex');
    const variants: Record<string, () => unknown> = {
      [FLOOR]: () => {
        const mac = createHmac('sha256', secret).update(`${now}.${payload}`).digest();
        if (!timingSafeEqual(mac, sig)) throw new Error('mismatch');
        return JSON.parse(payload);
      },
      [OURS]: () => {
        verifyStripeSignature({
          rawBody: payload,
          header,
          secrets: [secret],
          toleranceSeconds: 300,
          nowSeconds: now,
        });
        const value: unknown = JSON.parse(payload);
        if (stripeEventProblem(value)) throw new Error('bad');
        return value;
      },
      'stripe.webhooks.constructEvent (string)': () =>
        stripe.webhooks.constructEvent(payload, header, secret),
      'stripe.webhooks.constructEvent (Buffer)': () =>
        stripe.webhooks.constructEvent(Buffer.from(payload), header, secret),
    };
    const iterations = Math.max(50, Math.round((size > 10_000 ? 2_000 : 20_000) * scale));
    const samples: Record<string, number[]> = {};
    for (const name of Object.keys(variants)) samples[name] = [];
    for (let round = 0; round < rounds; round++) {
      for (const [name, fn] of Object.entries(variants)) {
        for (let i = 0; i < iterations / 10; i++) fn(); // warm
        const start = process.hrtime.bigint();
        for (let i = 0; i < iterations; i++) fn();
        samples[name]!.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
      }
    }
    const floors = samples[FLOOR]!;
    const floor = median(floors);
    for (const [name, xs] of Object.entries(samples)) {
      const us = median(xs);
      const perRound = xs.map((x, i) => x / floors[i]!);
      rows.push({
        kb: Math.round(payload.length / 1000),
        path: name,
        usPerEvent: us,
        xFloor: us / floor,
        roundRange: [Math.min(...perRound), Math.max(...perRound)],
      });
    }
  }
  return rows;
}
