// `npm run backfill -- [--customer cus_...] [--dry-run] [--local]`: brings in billing state
// that predates the deployment, which Stripe's 30-day Events API cannot replay. Lists open/uncollectible invoices with a
// payment attempt, non-terminal subscriptions, open disputes and the payment methods and card
// sources of every customer met; each becomes a synthetic event `bf_<object id>_<listing
// time>` created at the listing time, queued to the processors like a real one. Everything
// is listed before anything is queued, so a failed or malformed listing queues nothing.

import Stripe from 'stripe';
import { DISPUTE_CLOSED_STATUSES } from '../lambdas/core/billing-status';
import {
  BACKFILL_ID_PREFIX,
  idOf,
  type StripeEvent,
  type StripeObject,
} from '../lambdas/core/stripe-event';
import { forEachConcurrently, type EventSender } from './ops/enqueue';
import { customerIdArg, defineCommand, EXIT_OK, runIfEntryPoint } from './ops/command';
import { explainStripeError, stripeApiKey, stripeKeyMode } from './ops/stripe-client';
import {
  connectStack,
  STRIPE_ENVIRONMENT,
  stripeFor,
  type StripeCommandDeps,
} from './ops/stripe-command';
import { renderTable } from './ops/table';
import { PINNED_API_VERSION } from './events/stripe-events';

export const BACKFILL_KINDS = [
  'invoices',
  'subscriptions',
  'disputes',
  'payment_methods',
  'card_sources',
] as const;
export type BackfillKind = (typeof BACKFILL_KINDS)[number];

/** Subscription statuses that still change the billing status (canceled and incomplete_expired are terminal). */
export const NON_TERMINAL_SUBSCRIPTION_STATUSES = [
  'incomplete',
  'trialing',
  'active',
  'paused',
  'past_due',
  'unpaid',
] as const;
const PAGE_SIZE = 100;
const CUSTOMER_CONCURRENCY = 4;
const SEND_CONCURRENCY = 8;

/** A listing answered something that is not what Stripe documents: nothing is queued. */
export class MalformedAnswerError extends Error {
  constructor(message: string) {
    super(`Stripe's answer is malformed: ${message}`);
    this.name = 'MalformedAnswerError';
  }
}

export interface BackfillItem {
  kind: BackfillKind;
  objectId: string;
  customerId: string | null;
  event: StripeEvent;
}

export interface KindCounts {
  listed: number;
  selected: number;
  queued: number;
}

export interface BackfillPlan {
  /** Unix seconds: the one `created` of every synthetic event of this run. */
  listingTime: number;
  items: BackfillItem[];
  counts: Record<BackfillKind, KindCounts>;
  /** Customers whose payment methods and card sources were listed. */
  customers: string[];
  /** Customers Stripe no longer knows (deleted): nothing listed for them. */
  unknownCustomers: string[];
  /** Open disputes on guest charges (no customer: nothing to apply). */
  guestDisputes: number;
}

/** The synthetic event standing for a listed object: `bf_<object id>_<listing time>`, created at the listing time. */
export function syntheticEvent(
  type: string,
  object: StripeObject,
  listingTime: number,
  keyIsLive: boolean,
): StripeEvent {
  return {
    id: `${BACKFILL_ID_PREFIX}${object.id as string}_${listingTime}`,
    object: 'event',
    api_version: PINNED_API_VERSION,
    created: listingTime,
    // Legacy Card objects carry no `livemode`: the key's mode is theirs.
    livemode: typeof object.livemode === 'boolean' ? object.livemode : keyIsLive,
    data: { object },
    type,
    pending_webhooks: 0,
    request: { id: null, idempotency_key: null },
  } as StripeEvent;
}

/** The event type a listed object stands for. */
export function backfillType(kind: BackfillKind, object: StripeObject): string {
  switch (kind) {
    case 'invoices':
      return object.status === 'uncollectible'
        ? 'invoice.marked_uncollectible'
        : 'invoice.payment_failed';
    case 'subscriptions':
      return 'customer.subscription.updated';
    case 'disputes':
      return 'charge.dispute.created';
    case 'payment_methods':
      return 'payment_method.attached';
    case 'card_sources':
      return 'customer.source.created';
  }
}

function expectObject(value: unknown, object: string, listing: string): StripeObject {
  const o = value as StripeObject | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new MalformedAnswerError(`${listing}: an item is not a JSON object`);
  }
  if (o.object !== object || typeof o.id !== 'string' || o.id.length === 0) {
    throw new MalformedAnswerError(
      `${listing}: expected ${object} objects with an id, got ${JSON.stringify(o.object ?? null)}${typeof o.id === 'string' ? ` ${o.id}` : ' without an id'}`,
    );
  }
  return o;
}

/** Every item of a Stripe list through the SDK's auto-pagination, checked for its shape. */
async function listAll(
  list: AsyncIterable<unknown>,
  object: string,
  listing: string,
  onItem: (o: StripeObject) => void,
): Promise<void> {
  try {
    for await (const item of list) onItem(expectObject(item, object, listing));
  } catch (err) {
    if (err instanceof MalformedAnswerError || err instanceof Stripe.errors.StripeError) throw err;
    // The SDK's own complaint about a list without a `data` array, for example.
    throw new MalformedAnswerError(`${listing}: ${(err as Error).message}`);
  }
}

const isNotFound = (err: unknown) =>
  err instanceof Stripe.errors.StripeError && err.statusCode === 404;

export interface PlanOptions {
  /** Only this customer's objects. */
  customer?: string;
  listingTime: number;
  keyIsLive: boolean;
  progress: (line: string) => void;
}

/** Lists everything the backfill would apply; queues nothing. */
export async function planBackfill(stripe: Stripe, options: PlanOptions): Promise<BackfillPlan> {
  const counts = Object.fromEntries(
    BACKFILL_KINDS.map((k) => [k, { listed: 0, selected: 0, queued: 0 }]),
  ) as Record<BackfillKind, KindCounts>;
  const items: BackfillItem[] = [];
  const customers = new Set<string>(options.customer ? [options.customer] : []);
  const only = options.customer ? { customer: options.customer } : {};
  const select = (kind: BackfillKind, object: StripeObject, customerId: string | null) => {
    counts[kind].selected += 1;
    items.push({
      kind,
      objectId: object.id as string,
      customerId,
      event: syntheticEvent(
        backfillType(kind, object),
        object,
        options.listingTime,
        options.keyIsLive,
      ),
    });
    if (customerId) customers.add(customerId);
  };
  const report = (kind: BackfillKind, what: string) =>
    options.progress(`  ${kind}: listed ${counts[kind].listed}, ${counts[kind].selected} ${what}`);

  for (const status of ['open', 'uncollectible'] as const) {
    await listAll(
      stripe.invoices.list({ status, limit: PAGE_SIZE, ...only }),
      'invoice',
      `invoices (status ${status})`,
      (invoice) => {
        counts.invoices.listed += 1;
        if (invoice.status !== status) return;
        const attempts = typeof invoice.attempt_count === 'number' ? invoice.attempt_count : 0;
        if (attempts > 0 || invoice.attempted === true) {
          select('invoices', invoice, idOf(invoice, 'customer'));
        }
      },
    );
  }
  report('invoices', 'open or uncollectible with a payment attempt');

  for (const status of NON_TERMINAL_SUBSCRIPTION_STATUSES) {
    await listAll(
      stripe.subscriptions.list({ status, limit: PAGE_SIZE, ...only }),
      'subscription',
      `subscriptions (status ${status})`,
      (subscription) => {
        counts.subscriptions.listed += 1;
        if (subscription.status === status) {
          select('subscriptions', subscription, idOf(subscription, 'customer'));
        }
      },
    );
  }
  report('subscriptions', 'in a non-terminal status');

  // Disputes carry no customer and cannot be filtered by one: their charge names it.
  const openDisputes: StripeObject[] = [];
  await listAll(stripe.disputes.list({ limit: PAGE_SIZE }), 'dispute', 'disputes', (dispute) => {
    counts.disputes.listed += 1;
    if (!DISPUTE_CLOSED_STATUSES.has(String(dispute.status))) openDisputes.push(dispute);
  });
  let guestDisputes = 0;
  const chargeOwners = new Map<string, string | null>();
  for (const dispute of openDisputes) {
    const chargeId = idOf(dispute, 'charge');
    let customerId: string | null = null;
    if (chargeId) {
      if (!chargeOwners.has(chargeId)) {
        const charge = expectObject(
          await stripe.charges.retrieve(chargeId),
          'charge',
          `charge ${chargeId} of dispute ${dispute.id as string}`,
        );
        chargeOwners.set(chargeId, idOf(charge, 'customer'));
      }
      customerId = chargeOwners.get(chargeId) ?? null;
    }
    if (options.customer && customerId !== options.customer) continue;
    if (chargeId && customerId === null) {
      guestDisputes += 1; // a guest payment's dispute changes no customer's record
      continue;
    }
    select('disputes', dispute, customerId);
  }
  report('disputes', 'not closed');

  const ordered = [...customers].sort();
  const unknownCustomers: string[] = [];
  const methodIds = new Set<string>();
  const methodItems = new Map<string, { methods: StripeObject[]; cards: StripeObject[] }>();
  let done = 0;
  await forEachConcurrently(ordered, CUSTOMER_CONCURRENCY, async (customerId) => {
    const found = { methods: [] as StripeObject[], cards: [] as StripeObject[] };
    try {
      await listAll(
        stripe.customers.listPaymentMethods(customerId, { limit: PAGE_SIZE }),
        'payment_method',
        `payment methods of ${customerId}`,
        (pm) => found.methods.push(pm),
      );
      await listAll(
        stripe.customers.listSources(customerId, { object: 'card', limit: PAGE_SIZE }),
        'card',
        `card sources of ${customerId}`,
        (card) => found.cards.push(card),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      unknownCustomers.push(customerId);
    }
    methodItems.set(customerId, found);
    done += 1;
    if (done % 50 === 0 || done === ordered.length) {
      options.progress(`  payment methods and card sources: ${done}/${ordered.length} customers`);
    }
  });
  // In customer order, so the plan does not depend on which request finished first.
  for (const customerId of ordered) {
    const found = methodItems.get(customerId)!;
    for (const pm of found.methods) {
      counts.payment_methods.listed += 1;
      methodIds.add(pm.id as string);
      select('payment_methods', pm, customerId);
    }
    for (const card of found.cards) {
      counts.card_sources.listed += 1;
      // A card the PaymentMethods API already showed is the same object: apply it once.
      if (!methodIds.has(card.id as string)) select('card_sources', card, customerId);
    }
  }
  report('payment_methods', 'attached');
  report('card_sources', 'not already listed as PaymentMethods');

  return {
    listingTime: options.listingTime,
    items,
    counts,
    customers: ordered,
    unknownCustomers: unknownCustomers.sort(),
    guestDisputes,
  };
}

/** Queues the plan's events whose type the stack processes; returns the skipped types. */
export async function queueBackfill(
  plan: BackfillPlan,
  queue: EventSender,
  enabledTypes: readonly string[],
  progress: (line: string) => void,
): Promise<{ skippedTypes: Map<string, number> }> {
  const enabled = new Set(enabledTypes);
  const skippedTypes = new Map<string, number>();
  const sendable = plan.items.filter((item) => {
    if (enabled.has(item.event.type)) return true;
    skippedTypes.set(item.event.type, (skippedTypes.get(item.event.type) ?? 0) + 1);
    return false;
  });
  let sent = 0;
  await forEachConcurrently(sendable, SEND_CONCURRENCY, async (item) => {
    await queue.send(item.event);
    plan.counts[item.kind].queued += 1;
    sent += 1;
    if (sent % 100 === 0 || sent === sendable.length) {
      progress(`  queued ${sent}/${sendable.length}`);
    }
  });
  return { skippedTypes };
}

function summary(plan: BackfillPlan, dryRun: boolean): string[] {
  const lines = [
    `backfill ${dryRun ? 'dry run ' : ''}summary (listing time ${new Date(plan.listingTime * 1000).toISOString()}, ${plan.listingTime}):`,
    ...renderTable(
      ['kind', 'listed', 'selected', dryRun ? 'would apply' : 'queued'],
      BACKFILL_KINDS.map((kind) => {
        const c = plan.counts[kind];
        return [kind, c.listed, c.selected, dryRun ? c.selected : c.queued].map(String);
      }),
      { align: ['left', 'right', 'right', 'right'], indent: '  ' },
    ),
  ];
  lines.push(`  customers met: ${plan.customers.length}`);
  if (plan.unknownCustomers.length > 0) {
    lines.push(`  customers Stripe no longer knows (skipped): ${plan.unknownCustomers.join(', ')}`);
  }
  if (plan.guestDisputes > 0) {
    lines.push(
      `  open disputes on guest payments (no customer, nothing to apply): ${plan.guestDisputes}`,
    );
  }
  return lines;
}

export interface BackfillPorts {
  enabledTypes: readonly string[];
  queue: EventSender;
  close(): Promise<void> | void;
}

export type BackfillDeps = StripeCommandDeps<BackfillPorts>;

export const command = defineCommand<BackfillDeps>({
  name: 'backfill',
  summary:
    'Brings in billing state older than the deployment, which the Events API (30 days) ' +
    'cannot replay, so a customer whose trouble started earlier is blocked too.',
  description: [
    'It lists open and uncollectible invoices with a payment attempt, subscriptions in a non-terminal status, disputes that are not closed, and the payment methods and card sources of every customer met, and queues each as a synthetic event bf_<object id>_<listing time> created at the listing time. Later real events merge by the ordinary rules; a second run changes no billing status.',
  ],
  options: {
    customer: { type: 'string', value: 'cus_...', description: "only this customer's objects" },
    'dry-run': { type: 'boolean', description: 'list what would be applied; queue nothing' },
  },
  usage: [['[customer]', '[dry-run]']],
  environment: STRIPE_ENVIRONMENT,
  failure:
    'Stripe or the stack could not be read, or an event could not be queued (running it ' +
    'again is safe)',
  explainError: explainStripeError,
  examples: [
    { args: '', note: 'once, after the first deployment' },
    { args: '--customer cus_123 --dry-run --local', note: 'what it would apply for cus_123' },
  ],
  async run({ args, target, io, deps }) {
    const customerArg = args.string('customer');
    const customer =
      customerArg === undefined ? undefined : customerIdArg(customerArg, '--customer');
    const dryRun = args.flag('dry-run');
    const keyIsLive = stripeKeyMode(stripeApiKey(io.env)) === 'live';
    const stripe = stripeFor(deps, io);
    // Connect first: a wrong target fails before minutes of listing.
    const ports = await (deps.connect ?? connectStack)(target);
    let plan: BackfillPlan | undefined;
    try {
      const listingTime = Math.floor(io.now().getTime() / 1000);
      io.err(
        `backfill: listing ${customer ? `customer ${customer}'s` : 'every'} invoices, subscriptions, disputes and payment methods (listing time ${listingTime})${dryRun ? '; dry run: nothing will be queued' : ''}`,
      );
      plan = await planBackfill(stripe, {
        ...(customer ? { customer } : {}),
        listingTime,
        keyIsLive,
        progress: (line) => io.err(line),
      });
      if (dryRun) {
        for (const item of plan.items) {
          io.out(
            `would apply ${item.event.type} ${item.objectId}${item.customerId ? ` (customer ${item.customerId})` : ''} as ${item.event.id}`,
          );
        }
      } else {
        const { skippedTypes } = await queueBackfill(
          plan,
          ports.queue,
          ports.enabledTypes,
          (line) => io.err(line),
        );
        for (const [type, n] of skippedTypes) {
          io.err(`  ${n} ${type} event(s) not queued: the stack does not process ${type}`);
        }
      }
      for (const line of summary(plan, dryRun)) io.out(line);
      return EXIT_OK;
    } catch (err) {
      if (!plan || dryRun) io.err('backfill: nothing was queued');
      else {
        const queued = BACKFILL_KINDS.reduce((n, k) => n + plan!.counts[k].queued, 0);
        io.err(
          `backfill: ${queued} of ${plan.items.length} events were queued before the failure; running it again is safe`,
        );
      }
      throw err;
    } finally {
      await ports.close();
    }
  },
});

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
