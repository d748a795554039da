// What the Stripe-facing operator commands (reconcile, backfill, register-endpoint) share on
// top of bin/ops/args.ts: their injectable dependencies, the `stripe` client with progress
// lines on rate limiting, and the ports onto the target stack's queues and store.

import type Stripe from 'stripe';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { processIo, type CommandIo } from './args';
import { makeQueueSender, type EventSender } from './enqueue';
import { explainStripeError, makeStripeClient } from './stripe-client';
import { resolveTarget, type Target, type TargetOptions } from './target';

/** What tests inject: output sinks, environment, clock, a `stripe` client, the target. */
export interface StripeCommandDeps<Ports> extends Partial<CommandIo> {
  /** A `stripe` client; built from STRIPE_API_KEY / STRIPE_API_BASE when absent. */
  stripe?: Stripe;
  /** Reaches the target stack; `npm start`'s or the deployed one by default. */
  connect?: (options: TargetOptions) => Promise<Ports>;
}

/** The process's io, with whatever the caller injected in its place. */
export function commandIo(deps: Partial<CommandIo>): CommandIo {
  const io = processIo();
  return {
    out: deps.out ?? io.out,
    err: deps.err ?? io.err,
    env: deps.env ?? io.env,
    now: deps.now ?? io.now,
  };
}

/** The injected client, or one from the environment that reports its rate-limit waits. */
export function stripeFor(deps: { stripe?: Stripe }, io: CommandIo): Stripe {
  return (
    deps.stripe ??
    makeStripeClient(io.env, {
      onRateLimited: (n) =>
        io.err(
          `  Stripe rate limit (429): retry ${n.attempt} in ${(n.delayMs / 1000).toFixed(1)} s${n.basis === 'retry-after' ? ' as Retry-After asks' : ''}`,
        ),
    })
  );
}

/** Runs a command body, turning the `stripe` SDK's errors into readable ones. */
export async function explainingStripeErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw explainStripeError(err);
  }
}

/** The target stack as reconcile and backfill use it. */
export interface StackPorts {
  target: Target;
  /** Event types the stack processes: those with a queue, in registry order. */
  enabledTypes: string[];
  store: FactStore;
  queue: EventSender;
  close(): void;
}

export async function connectStack(options: TargetOptions): Promise<StackPorts> {
  const target = await resolveTarget(options);
  return {
    target,
    enabledTypes: target.queues.map((q) => q.type),
    store: new FactStore(target.ddb, target.tableName),
    queue: makeQueueSender(target.sqs, target.queues),
    close: () => target.close(),
  };
}
