// `npm run trigger -- <event type> [--customer cus_...] [--url <webhook url>] [--local]`:
// sends one realistic, correctly signed Stripe event to the webhook, the way Stripe would;
// with `--eventbridge`, in the EventBridge envelope of Stripe's event destination to the
// local partner event bus (bin/ops/eventbridge-trigger.ts).

import { DEFAULTS, parseWebhookSecrets } from '../lambdas/config';
import { REGISTRY, registryEntry } from '../lambdas/core/registry';
import {
  customerIdArg,
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  runIfEntryPoint,
  UsageError,
  type CommandDeps,
  type CommandIo,
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
  usage: [['type', '[customer]', '[url]', '[eventbridge]'], ['list']],
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
    const customerArg = args.string('customer');
    const customer =
      customerArg === undefined ? undefined : customerIdArg(customerArg, '--customer');
    const urlArg = args.string('url');
    const explicitUrl = urlArg === undefined ? undefined : checkUrl(urlArg);
    if (args.flag('eventbridge')) {
      const { triggerThroughEventBridge } = await import('./ops/eventbridge-trigger');
      const target = targetOptions.local
        ? await (deps.connect ?? resolveTarget)(targetOptions)
        : null;
      try {
        return await triggerThroughEventBridge({
          type,
          customer,
          url: explicitUrl,
          target,
          io,
          fetch: deps.fetch ?? fetch,
        });
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

      const { buildEvent, signatureHeader } = await import('./events/stripe-events');
      const event = buildEvent(type, customer === undefined ? {} : { customer });
      // Stripe sends pretty-printed JSON; the signature covers these exact bytes.
      const payload = JSON.stringify(event, null, 2);
      const object = event.data.object as { id?: unknown; customer?: unknown };
      io.err(`sending ${type} ${event.id} (object ${String(object.id)}) to ${url}`);
      io.err(`signed with ${source}`);
      if (type.startsWith('charge.dispute.') && customer !== undefined) {
        io.err('note: disputes name no customer; --customer has no effect on them');
      }

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
        // Customer events are about the customer itself; payment_method.detached names
        // its former customer only in previous_attributes.
        const owner =
          registryEntry(type)?.kind === 'customer'
            ? object.id
            : (object.customer ?? event.data.previous_attributes?.customer);
        if (typeof owner === 'string') {
          io.err(`check with: npm run status -- ${owner}${targetOptions.local ? ' --local' : ''}`);
        }
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
