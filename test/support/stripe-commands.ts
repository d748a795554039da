// Test harness for the Stripe-facing operator commands: a fake Stripe API, a `stripe`
// client pointed at it (recording rate-limit waits instead of sleeping them), real queues and
// a real table in the shared emulators, and output captured line by line.

import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import { makeQueueSender } from '../../bin/ops/enqueue';
import { makeStripeClient } from '../../bin/ops/stripe-client';
import type { QueuePair } from '../../bin/local/provision';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { startFakeStripeApi, type FakeStripeApi } from './fake-stripe-api';
import { queueDepth } from './local-stack';

export interface Captured {
  out: string[];
  err: string[];
  io: { out: (line: string) => void; err: (line: string) => void };
  /** Everything printed, both streams. */
  text(): string;
}

export function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (l) => void out.push(l), err: (l) => void err.push(l) },
    text: () => [...out, ...err].join('\n'),
  };
}

export interface StripeHarness {
  fake: FakeStripeApi;
  stripe: Stripe;
  env: Record<string, string>;
  /** Delays the client was asked to wait on 429s, in ms. */
  waits: number[];
}

export async function stripeHarness(options: { apiKey?: string } = {}): Promise<StripeHarness> {
  const fake = await startFakeStripeApi(options);
  const env = { STRIPE_API_KEY: fake.apiKey, STRIPE_API_BASE: fake.url };
  const waits: number[] = [];
  const stripe = makeStripeClient(env, {
    sleep: async (ms) => void waits.push(ms),
    maxNetworkRetries: 0,
  });
  return { fake, stripe, env, waits };
}

export interface QueuedMessage {
  type: string;
  event: StripeEvent;
  attributes: Record<string, string | undefined>;
}

/** Receives and deletes every message of every queue. */
export async function drainQueues(
  sqs: SQSClient,
  queues: readonly QueuePair[],
): Promise<QueuedMessage[]> {
  const messages: QueuedMessage[] = [];
  for (const queue of queues) {
    const deadline = Date.now() + 15_000;
    // Until an empty receive and a zero depth agree: either alone can lag on a busy server.
    for (let emptyReceives = 0; emptyReceives < 2 || (await queueDepth(sqs, queue.queueUrl)) > 0;) {
      if (Date.now() > deadline) throw new Error(`could not drain ${queue.queueUrl}`);
      const got = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      const received = got.Messages ?? [];
      emptyReceives = received.length === 0 ? emptyReceives + 1 : 0;
      for (const m of received) {
        messages.push({
          type: queue.type,
          event: JSON.parse(m.Body ?? 'null') as StripeEvent,
          attributes: Object.fromEntries(
            Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]),
          ),
        });
      }
      if (received.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.queueUrl,
            Entries: received.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }
  }
  return messages;
}

export function queueSenderFor(sqs: SQSClient, queues: readonly QueuePair[]) {
  return makeQueueSender(sqs, queues);
}
