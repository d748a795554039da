// `npm run trigger -- <event type> [--customer cus_...] [ids and fields] [--url <webhook url>]
// [--local]`: sends one realistic, correctly signed Stripe event to the webhook, the way Stripe
// would, with the object ids and the fields that decide an answer given on the command line
// (a scripted dunning run); with `--eventbridge`, in the EventBridge envelope of Stripe's event
// destination to the local partner event bus (bin/ops/eventbridge-trigger.ts).

import { DEFAULTS, parseWebhookSecrets } from '../lambdas/config';
import { REGISTRY, registryEntry } from '../lambdas/core/registry';
import type { StripeEvent } from '../lambdas/core/stripe-event';
import type { EventOptions, EventShapeError } from './events/stripe-events';
import { ID_PREFIXES, PRE_BASIL_API_VERSION, UNCOLLECTIBLE_REASONS } from './events/vocabulary';
import {
  customerIdArg,
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  runIfEntryPoint,
  UsageError,
  type CommandDeps,
  type CommandIo,
  type ParsedArgs,
} from './ops/command';
import { postEvent } from './ops/post';
import { renderTable } from './ops/table';
import { resolveTarget, TargetError, type Target, type TargetOptions } from './ops/target';
// bin/events/stripe-events (and with it the `stripe` package) is loaded only to send an event, and
// bin/ops/eventbridge-trigger (with the SQS client of the local bus) only for --eventbridge.

export interface TriggerDeps extends CommandDeps {
  connect?: (options: TargetOptions) => Promise<Target>;
  fetch?: typeof fetch;
}

/** The handled types, in registry order, with the object kind each is about. */
export function listLines(): string[] {
  return [
    ...renderTable(
      ['EVENT TYPE', 'OBJECT'],
      REGISTRY.map((e) => [e.type, e.kind]),
    ),
    `${REGISTRY.length} handled event types`,
  ];
}

function checkUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    return url.href;
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got "${value}"`);
  }
}

/** The id options: the command-line name, the builder's option and the placeholder. */
const ID_OPTIONS = [
  ['invoice', 'invoiceId'],
  ['payment-intent', 'paymentIntentId'],
  ['subscription', 'subscriptionId'],
  ['payment-method', 'paymentMethodId'],
  ['dispute', 'disputeId'],
  ['customer-account', 'customerAccount'],
] as const satisfies readonly (readonly [string, keyof typeof ID_PREFIXES])[];

/** The command-line name of each builder option, for its error messages. */
const FLAG_OF: Readonly<Partial<Record<keyof EventOptions | 'type', string>>> = {
  ...Object.fromEntries(ID_OPTIONS.map(([flag, option]) => [option, `--${flag}`])),
  customer: '--customer',
  status: '--status',
  attemptCount: '--attempt-count',
  nextPaymentAttempt: '--next-attempt',
  uncollectibleReason: '--uncollectible-reason',
  apiVersion: '--api-version',
  created: '--created',
  type: 'the event type',
};

/** An id: its prefix, then letters, digits, `_` and `-` (what Stripe issues). */
function idArg(flag: string, value: string, prefixes: readonly string[]): string {
  if (!prefixes.some((p) => value.startsWith(p)) || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw new UsageError(
      `--${flag} must be an id starting with ${prefixes.join(' or ')} (letters, digits, _ and -), got "${value}"`,
    );
  }
  return value;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 time with its zone (`2026-11-01T09:00:00Z`), as unix seconds. */
function isoArg(flag: string, value: string): number {
  const ms = ISO_TIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--${flag} must be an ISO 8601 time with its zone, such as 2026-11-01T09:00:00Z, got "${value}"`,
    );
  }
  return Math.floor(ms / 1000);
}

/** The builder options the command line asks for (ids, fields, version), validated. */
export function eventOptionsOf(args: ParsedArgs): EventOptions {
  const options: EventOptions = {};
  const customer = args.string('customer');
  if (customer !== undefined) options.customer = customerIdArg(customer, '--customer');
  for (const [flag, option] of ID_OPTIONS) {
    const value = args.string(flag);
    if (value !== undefined) options[option] = idArg(flag, value, ID_PREFIXES[option]);
  }
  // An account given alone is an Accounts v2 object that names no customer.
  if (options.customerAccount !== undefined && options.customer === undefined) {
    options.customer = null;
  }
  const status = args.string('status');
  if (status !== undefined) options.status = status;
  const attempts = args.integer('attempt-count');
  if (attempts !== undefined) options.attemptCount = attempts;
  const next = args.string('next-attempt');
  if (next !== undefined) {
    options.nextPaymentAttempt = next === 'none' ? null : isoArg('next-attempt', next);
  }
  const reason = args.string('uncollectible-reason');
  if (reason !== undefined) options.uncollectibleReason = reason;
  const created = args.string('created');
  if (created !== undefined) options.created = isoArg('created', created);
  const version = args.string('api-version');
  if (version !== undefined) options.apiVersion = version;
  return options;
}

/** Builds the event, turning what the builder refuses into a usage error naming the option. */
async function buildRequested(type: string, options: EventOptions): Promise<StripeEvent> {
  const { buildEvent, EventShapeError: ShapeError } = await import('./events/stripe-events');
  try {
    return buildEvent(type, options);
  } catch (err) {
    if (!(err instanceof ShapeError)) throw err;
    const e = err as EventShapeError;
    const flag = FLAG_OF[e.option] ?? e.option;
    throw new UsageError(
      e.option === 'type'
        ? `${e.detail} (--api-version ${options.apiVersion ?? 'pinned'})`
        : `${flag} ${e.detail}`,
    );
  }
}

/** The customer to read the status of after an event: the object's owner, or its account. */
function ownerOf(event: StripeEvent): string | undefined {
  const object = event.data.object as {
    id?: unknown;
    customer?: unknown;
    customer_account?: unknown;
  };
  // Customer events are about the customer itself; payment_method.detached names its former
  // customer only in previous_attributes.
  const owner =
    registryEntry(event.type)?.kind === 'customer'
      ? object.id
      : (object.customer ?? event.data.previous_attributes?.customer ?? object.customer_account);
  return typeof owner === 'string' ? owner : undefined;
}

/** Tells where to read the status the event changed, when it names a customer. */
function checkWith(event: StripeEvent, io: CommandIo, local: boolean): void {
  const owner = ownerOf(event);
  if (owner) io.err(`check with: npm run status -- ${owner}${local ? ' --local' : ''}`);
}

/** The first signing secret of a comma-separated list, validated like the verifier does. */
function firstSecret(value: string, source: string): string {
  try {
    return parseWebhookSecrets(value, source)[0]!;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function signingSecret(
  env: CommandIo['env'],
  target: Target | null,
  local: boolean,
): Promise<{ secret: string; source: string }> {
  const fromEnv = env.STRIPE_WEBHOOK_SECRET;
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return {
      secret: firstSecret(fromEnv, 'STRIPE_WEBHOOK_SECRET'),
      source: 'STRIPE_WEBHOOK_SECRET',
    };
  }
  if (local) {
    if (target?.local?.webhookSecret === 'env') {
      throw new TargetError(
        'the local stack was started with STRIPE_WEBHOOK_SECRET: set the same variable for trigger',
      );
    }
    return { secret: DEFAULTS.localWebhookSecret, source: 'the local development secret' };
  }
  if (target?.secretsManager && target.webhookSecretArn) {
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const got = await target.secretsManager.send(
      new GetSecretValueCommand({ SecretId: target.webhookSecretArn }),
    );
    if (!got.SecretString || got.SecretString.trim() === '') {
      throw new TargetError(
        "the stack's webhook secret is empty: run `npm run register-endpoint` first, or set STRIPE_WEBHOOK_SECRET",
      );
    }
    return {
      secret: firstSecret(got.SecretString, "the stack's webhook secret"),
      source: "the stack's webhook secret (Secrets Manager)",
    };
  }
  throw new UsageError('set STRIPE_WEBHOOK_SECRET to the signing secret of the endpoint at --url');
}

export const command = defineCommand<TriggerDeps>({
  name: 'trigger',
  summary:
    "Sends one realistic Stripe event of that type, built from Stripe's published fixture " +
    'objects and signed the way Stripe signs it, to the webhook, and prints the HTTP answer.',
  description: [
    "Signing secret: STRIPE_WEBHOOK_SECRET (the first one when several are listed); else, with --local, the development secret `npm start` prints; else the deployed stack's webhook secret in Secrets Manager.",
    "With --eventbridge the event is not signed: it goes in the EventBridge envelope Stripe's event destination produces to the local partner event bus of `npm start -- --ingress eventbridge` (or both), from the partner event source EVENTBRIDGE_SOURCE names, as npm start reads it. Only Stripe can put events on a partner event bus in AWS, so --eventbridge needs --local (or --url of a local bus). For example, with `npm start -- --ingress both` running: npm run trigger -- invoice.payment_failed --eventbridge --local",
  ],
  positionals: {
    type: { value: 'event type', description: 'a handled event type (see --list)' },
  },
  options: {
    list: { type: 'boolean', description: 'list the handled event types and exit' },
    customer: {
      type: 'string',
      value: 'cus_...',
      description:
        "the customer the object belongs to (default: the fixtures' customer); disputes " +
        'name no customer (it is found through their charge)',
    },
    invoice: {
      type: 'string',
      value: 'in_...',
      description:
        "the invoice: an invoice event's object (default: the fixture's in_1Pgc6tB7WZ01zgkWu9fdqL6I), " +
        'the invoice an invoice_payment names, or (with --api-version ' +
        PRE_BASIL_API_VERSION +
        ') the invoice of a PaymentIntent or charge',
    },
    'payment-intent': {
      type: 'string',
      value: 'pi_...',
      description:
        "the PaymentIntent: its events' object, or the one a charge, dispute or invoice_payment " +
        `names (with --api-version ${PRE_BASIL_API_VERSION}, an invoice's too)`,
    },
    subscription: {
      type: 'string',
      value: 'sub_...',
      description: "the subscription: its events' object, or an invoice's subscription",
    },
    'payment-method': {
      type: 'string',
      value: 'pm_...',
      description:
        "the payment method: its events' object (card_... for customer.source.*), or the one a " +
        'PaymentIntent or charge used',
    },
    dispute: { type: 'string', value: 'dp_...', description: "the dispute: its events' object" },
    'customer-account': {
      type: 'string',
      value: 'acct_...',
      description:
        'an Accounts v2 customer account the object names: beside --customer, or alone (then the ' +
        'object names no customer); not before basil',
    },
    status: {
      type: 'string',
      value: 'status',
      description:
        "the object's status instead of the one its event type implies (e.g. past_due for a " +
        'subscription); one its type allows at that API version',
    },
    'attempt-count': {
      type: 'integer',
      value: 'n',
      description: 'invoices: how many payment attempts were made (default: 1 for a failed one)',
    },
    'next-attempt': {
      type: 'string',
      value: 'iso|none',
      description:
        'invoices: when Stripe retries (ISO 8601, e.g. 2026-11-04T09:00:00Z), or none when it ' +
        'does not (default for a failed invoice: 3 days after --created)',
    },
    'uncollectible-reason': {
      type: 'choice',
      choices: UNCOLLECTIBLE_REASONS,
      description:
        "invoice.marked_uncollectible: the invoice's status_details.uncollectible.reason " +
        '(default: max_payment_attempts; not before 2026-09-30.endive)',
    },
    created: {
      type: 'string',
      value: 'iso',
      description: "the event's and the object's created time (ISO 8601; default: now)",
    },
    'api-version': {
      type: 'string',
      value: 'version',
      description:
        'the API version whose shape to send: the one the stripe package pins (the default, ' +
        `what register-endpoint sets) or ${PRE_BASIL_API_VERSION} (before 2025-03-31.basil)`,
    },
    url: {
      type: 'string',
      value: 'webhook url',
      description:
        "where to post (default: the target stack's webhook URL; with --eventbridge, the local bus)",
    },
    eventbridge: {
      type: 'boolean',
      description:
        "send it as Stripe's EventBridge destination does, in an EventBridge envelope, to the " +
        'local bus (npm start -- --ingress eventbridge|both; with --local)',
    },
  },
  usage: [
    [
      'type',
      '[customer]',
      '[invoice]',
      '[payment-intent]',
      '[subscription]',
      '[payment-method]',
      '[dispute]',
      '[customer-account]',
      '[status]',
      '[attempt-count]',
      '[next-attempt]',
      '[uncollectible-reason]',
      '[created]',
      '[api-version]',
      '[url]',
      '[eventbridge]',
    ],
    ['list'],
  ],
  environment: [
    { name: 'STRIPE_WEBHOOK_SECRET', description: 'the signing secret of the endpoint at --url' },
    {
      name: 'EVENTBRIDGE_SOURCE',
      description:
        'with --eventbridge: the partner event source of the envelope (default: the one npm start uses by default)',
    },
  ],
  failure: 'the webhook answered something other than 2xx, or could not be reached',
  examples: [
    {
      args: 'invoice.payment_failed --customer cus_123 --local',
      note: "a failed invoice payment for cus_123, sent to `npm start`'s webhook",
    },
    { args: 'customer.created --customer cus_123 --local', note: 'cus_123 is created' },
    {
      args: 'invoice.payment_failed --customer cus_456 --invoice in_456 --attempt-count 2 --next-attempt none --local',
      note: "the second failed attempt of cus_456's invoice in_456, after which Stripe retries no more",
    },
    {
      args: `invoice.paid --customer cus_456 --invoice in_456 --api-version ${PRE_BASIL_API_VERSION} --local`,
      note: `in_456 is paid, in the shape of API version ${PRE_BASIL_API_VERSION}`,
    },
    { args: '--list', note: 'the handled event types' },
  ],
  async run({ args, target: targetOptions, io, deps }) {
    if (args.flag('list')) {
      if (args.positionals.length > 0) throw new UsageError('--list takes no event type');
      listLines().forEach((l) => io.out(l));
      return EXIT_OK;
    }
    const type = args.positional('type');
    if (type === undefined) {
      throw new UsageError('an event type is required (npm run trigger -- --list shows them)');
    }
    if (!registryEntry(type)) {
      throw new UsageError(
        `unknown event type "${type}": \`npm run trigger -- --list\` shows the handled types`,
      );
    }
    const urlArg = args.string('url');
    const explicitUrl = urlArg === undefined ? undefined : checkUrl(urlArg);
    const options = eventOptionsOf(args);
    const event = await buildRequested(type, options);
    const { customerFieldOf, signatureHeader } = await import('./events/stripe-events');
    if (customerFieldOf(type) === 'none' && options.customer != null) {
      io.err(`note: ${type} names no customer; --customer has no effect on it`);
    }
    if (args.flag('eventbridge')) {
      const { triggerThroughEventBridge } = await import('./ops/eventbridge-trigger');
      const target = targetOptions.local
        ? await (deps.connect ?? resolveTarget)(targetOptions)
        : null;
      try {
        const code = await triggerThroughEventBridge({
          event,
          url: explicitUrl,
          target,
          io,
          fetch: deps.fetch ?? fetch,
        });
        if (code === EXIT_OK) checkWith(event, io, true);
        return code;
      } finally {
        target?.close();
      }
    }

    // With --url and no --local nothing about the stack is needed but the secret from env.
    const needsTarget =
      explicitUrl === undefined ||
      targetOptions.local ||
      !(io.env.STRIPE_WEBHOOK_SECRET ?? '').trim();
    const target = needsTarget ? await (deps.connect ?? resolveTarget)(targetOptions) : null;
    try {
      const url = explicitUrl ?? target?.webhookUrl;
      if (!url) {
        throw new TargetError(
          `${target?.describe() ?? 'the stack'} has no webhook URL (it takes events through EventBridge only); pass --url`,
        );
      }
      const { secret, source } = await signingSecret(io.env, target, targetOptions.local);

      // Stripe sends pretty-printed JSON; the signature covers these exact bytes.
      const payload = JSON.stringify(event, null, 2);
      const object = event.data.object as { id?: unknown };
      io.err(
        `sending ${type} ${event.id} (object ${String(object.id)}, API ${String(event.api_version)}) to ${url}`,
      );
      io.err(`signed with ${source}`);

      const response = await postEvent(
        deps.fetch ?? fetch,
        url,
        {
          'stripe-signature': signatureHeader(payload, secret),
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        payload,
        io,
      );
      if (response.ok) {
        checkWith(event, io, targetOptions.local);
        return EXIT_OK;
      }
      io.err(`trigger: the webhook answered ${response.status}`);
      return EXIT_FAILURE;
    } finally {
      target?.close();
    }
  },
});

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
