// What the Stripe-facing operator commands (reconcile, backfill, register-endpoint) share on
// top of bin/ops/command.ts: their injectable dependencies, the `stripe` client with progress
// lines on rate limiting, and the ports onto the target stack's queues and store.

import type Stripe from 'stripe';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import type { CommandDeps, CommandIo, EnvVarDef } from './command';
import { makeQueueSender, type EventSender } from './enqueue';
import { makeStripeClient } from './stripe-client';
import { resolveTarget, storeOf, type Target, type TargetOptions } from './target';

/** What tests inject: output sinks, environment, clock, a `stripe` client, the target. */
export interface StripeCommandDeps<Ports> extends CommandDeps {
  /** A `stripe` client; built from STRIPE_API_KEY / STRIPE_API_BASE when absent. */
  stripe?: Stripe;
  /** Reaches the target stack; `npm start`'s or the deployed one by default. */
  connect?: (options: TargetOptions) => Promise<Ports>;
}

/** The environment every Stripe-facing command reads, for its help text. */
export const STRIPE_ENVIRONMENT: readonly EnvVarDef[] = [
  {
    name: 'STRIPE_API_KEY',
    description: 'required: a Stripe secret key or a restricted key (sk_... or rk_...)',
  },
  {
    name: 'STRIPE_API_BASE',
    description: "where the Stripe API is reached (default: Stripe's own API)",
  },
];

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
    store: (await storeOf(target)).store,
    queue: makeQueueSender(target.sqs, target.queues),
    close: () => target.close(),
  };
}
