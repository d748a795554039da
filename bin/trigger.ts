// `npm run trigger -- <event type> [--customer cus_...] [--url <webhook url>] [--local]`:
// sends one realistic, correctly signed Stripe event to the webhook, the way Stripe would.

import { DEFAULTS, parseWebhookSecrets } from '../lambdas/config';
import { REGISTRY, registryEntry } from '../lambdas/core/registry';
import {
  customerIdArg,
  EXIT_FAILURE,
  EXIT_OK,
  parseCommand,
  processIo,
  renderTable,
  runCommand,
  runIfEntryPoint,
  TARGET_HELP,
  UsageError,
  type CommandIo,
  type CommandSpec,
} from './ops/args';
import { triggerThroughEventBridge } from './ops/eventbridge-trigger';
import { resolveTarget, TargetError, type Target, type TargetOptions } from './ops/target';
// bin/stripe-events (and with it the `stripe` package) is loaded only to send an event.

export const TRIGGER: CommandSpec = {
  name: 'trigger',
  help: [
    'Usage: npm run trigger -- <event type> [--customer cus_...] [--url <webhook url>] [--local]',
    '       npm run trigger -- --list',
    '',
    "Sends one realistic Stripe event of that type, built from Stripe's published fixture",
    'objects and signed like Stripe signs it, to the webhook; prints the HTTP answer.',
    'Exits 0 on a 2xx answer, 1 otherwise, 2 for bad arguments.',
    '',
    '  --list              the handled event types',
    "  --customer <id>     the customer the object belongs to (default: the fixtures' customer);",
    '                      disputes name no customer (it is found through their charge)',
    "  --url <url>         where to post (default: the target stack's webhook URL)",
    "  --eventbridge       send it as Stripe's EventBridge destination does, in an EventBridge",
    '                      envelope, to the local bus (npm start -- --ingress eventbridge|both;',
    '                      with --local; source: EVENTBRIDGE_SOURCE, as npm start reads it)',
    '',
    'Signing secret: STRIPE_WEBHOOK_SECRET (the first one when several are listed); else,',
    "for --local, the development secret `npm start` prints; else, for AWS, the stack's",
    'webhook secret in Secrets Manager.',
    '',
    TARGET_HELP,
  ].join('\n'),
  options: {
    list: { type: 'boolean' },
    customer: { type: 'string' },
    url: { type: 'string' },
    eventbridge: { type: 'boolean' },
  },
  maxPositionals: 1,
};

export interface TriggerDeps {
  io?: Partial<CommandIo>;
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

export async function runTrigger(argv: readonly string[], deps: TriggerDeps = {}): Promise<number> {
  const io = { ...processIo(), ...deps.io };
  return runCommand(TRIGGER, io, async () => {
    const { values, positionals, target: targetOptions } = parseCommand(argv, TRIGGER);
    if (values.list === true) {
      if (positionals.length > 0) throw new UsageError('--list takes no event type');
      listLines().forEach((l) => io.out(l));
      return EXIT_OK;
    }
    const type = positionals[0];
    if (type === undefined) {
      throw new UsageError('an event type is required (npm run trigger -- --list shows them)');
    }
    if (!registryEntry(type)) {
      throw new UsageError(
        `unknown event type "${type}": \`npm run trigger -- --list\` shows the handled types`,
      );
    }
    const customer =
      typeof values.customer === 'string'
        ? customerIdArg(values.customer, '--customer')
        : undefined;
    const explicitUrl = typeof values.url === 'string' ? checkUrl(values.url) : undefined;
    if (values.eventbridge === true) {
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
          `${target?.describe() ?? 'the stack'} has no webhook URL; pass --url`,
        );
      }
      const { secret, source } = await signingSecret(io.env, target, targetOptions.local);

      const { buildEvent, signatureHeader } = await import('./stripe-events');
      const event = buildEvent(type, customer === undefined ? {} : { customer });
      // Stripe sends pretty-printed JSON; the signature covers these exact bytes.
      const payload = JSON.stringify(event, null, 2);
      const object = event.data.object as { id?: unknown; customer?: unknown };
      io.err(`sending ${type} ${event.id} (object ${String(object.id)}) to ${url}`);
      io.err(`signed with ${source}`);
      if (type.startsWith('charge.dispute.') && customer !== undefined) {
        io.err('note: disputes name no customer; --customer has no effect on them');
      }

      let response: Response;
      try {
        response = await (deps.fetch ?? fetch)(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'stripe-signature': signatureHeader(payload, secret),
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          },
          body: payload,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new TargetError(
          `could not reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        );
      }
      const text = await response.text();
      io.out(`HTTP ${response.status} ${text.trim()}`);
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
  });
}

runIfEntryPoint(import.meta.url, runTrigger);
