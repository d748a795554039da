// `npm run register-endpoint -- --url <https url> [--mode live|test] [--local]`: makes the
// Stripe webhook endpoint at that URL send exactly the event types the stack processes.
// An existing endpoint is updated; otherwise one is created with the API version the
// `stripe` package is built for, and the signing secret Stripe returns once is added to the
// stack's webhook secret (Secrets Manager, or a file for `npm start`). The secret is never
// printed. With `--eventbridge --aws-account <id> --aws-region <region>` it creates or
// updates Stripe's Amazon EventBridge event destination instead (bin/ops/event-destination.ts).

import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type Stripe from 'stripe';
import { ConfigError } from '../lambdas/core/errors';
import { HANDLED_TYPES } from '../lambdas/core/registry';
import { LOCAL_STATE_FILE } from './local/state-file';
import { defineCommand, EXIT_OK, runIfEntryPoint, UsageError } from './ops/command';
import {
  checkAwsAccount,
  checkAwsRegion,
  checkEventTypes,
  describeDestination,
  registerEventDestination,
} from './ops/event-destination';
import {
  explainStripeError,
  stripeApiKey,
  stripeKeyMode,
  type StripeKeyMode,
} from './ops/stripe-client';
import { STRIPE_ENVIRONMENT, stripeFor, type StripeCommandDeps } from './ops/stripe-command';
import { resolveTarget, TargetError, type TargetOptions } from './ops/target';
import { PINNED_API_VERSION } from './events/stripe-events';

export const ENDPOINT_DESCRIPTION = 'stripe-billing-gate';

/** Where a new signing secret goes. Implementations never log or return the secret. */
export interface SecretSink {
  /** Where, for messages: an ARN or a file path. */
  readonly location: string;
  /**
   * Adds `secret` to the stored comma-separated list, keeping the secrets already there so
   * that an endpoint being replaced still verifies until its secret is removed.
   */
  add(secret: string): Promise<{ kept: number }>;
  /** What the operator does next (restart, and later removal of the old secret). */
  nextSteps(kept: number): string[];
}

const WHSEC = /^whsec_[A-Za-z0-9+/=_-]+$/;

/** The signing secrets in a stored value; placeholders and blanks are dropped. */
export function storedSecrets(value: string | undefined | null): string[] {
  return (value ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => WHSEC.test(s));
}

/** The stack's webhook secret in Secrets Manager (AWS). */
export function secretsManagerSink(client: SecretsManagerClient, secretId: string): SecretSink {
  return {
    location: `Secrets Manager secret ${secretId}`,
    async add(secret) {
      const current = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      const existing = storedSecrets(current.SecretString);
      if (existing.includes(secret)) return { kept: existing.length - 1 };
      await client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: [...existing, secret].join(','),
        }),
      );
      return { kept: existing.length };
    },
    nextSteps(kept) {
      const steps = [
        'The verifier re-reads the secret when a signature does not verify: no redeploy needed.',
      ];
      if (kept > 0) {
        steps.push(
          `The secret now holds ${kept + 1} comma-separated signing secrets (oldest first); all of them verify.`,
          'Once the old endpoint is deleted in Stripe and its retries have drained (up to 3 days),',
          'remove its secret by writing back only the newest one, without putting it on a command line:',
          `  aws secretsmanager get-secret-value --secret-id ${secretId} --query SecretString --output text | tr ',' '\\n' | tail -n 1 > newest.txt`,
          `  aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string file://newest.txt && rm newest.txt`,
        );
      }
      return steps;
    },
  };
}

/** Beside `npm start`'s state file (`.local/` of the checkout). */
export const LOCAL_SECRET_FILE = path.join(path.dirname(LOCAL_STATE_FILE), 'webhook-secret');

/** A file holding the comma-separated secrets for `npm start` (mode 0600). */
export function fileSink(file: string, readByStack: boolean): SecretSink {
  return {
    location: `file ${path.relative(process.cwd(), file) || file}`,
    async add(secret) {
      let existing: string[] = [];
      try {
        existing = storedSecrets(readFileSync(file, 'utf8'));
      } catch {
        // no file yet
      }
      if (existing.includes(secret)) return { kept: existing.length - 1 };
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, [...existing, secret].join(',') + '\n', { mode: 0o600 });
      chmodSync(file, 0o600);
      return { kept: existing.length };
    },
    nextSteps(kept) {
      const rel = path.relative(process.cwd(), file) || file;
      const steps = readByStack
        ? ['The local stack reads this file: no restart needed.']
        : [
            'Restart the local stack with the secret(s) from that file (the value is never printed):',
            `  STRIPE_WEBHOOK_SECRET="$(cat ${rel})" npm start`,
          ];
      if (kept > 0) {
        steps.push(
          `The file holds ${kept + 1} comma-separated secrets (oldest first); delete the old ones from it once their endpoint is gone.`,
        );
      }
      return steps;
    },
  };
}

/** The URL Stripe will post to: https, or http on the loopback for `--local` only. */
export function checkEndpointUrl(value: string, local: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url must be an absolute URL, got "${value}"`);
  }
  if (url.username || url.password) throw new UsageError('--url must not contain credentials');
  if (url.hash) throw new UsageError('--url must not contain a #fragment');
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol === 'https:') return value;
  if (url.protocol === 'http:' && loopback && local) return value;
  if (url.protocol === 'http:' && loopback) {
    throw new UsageError(`--url ${value} is plain http: allowed on the loopback only with --local`);
  }
  throw new UsageError(
    `--url must be an https URL (Stripe delivers webhooks over https), got "${value}"`,
  );
}

function checkMode(key: string, wanted: string | undefined): StripeKeyMode {
  const actual = stripeKeyMode(key);
  if (wanted === undefined) return actual;
  if (wanted !== actual) {
    throw new ConfigError(
      `STRIPE_API_KEY is a ${actual}-mode key but --mode ${wanted} was asked: use a ${wanted}-mode key (${wanted === 'live' ? 'sk_live_/rk_live_' : 'sk_test_/rk_test_'})`,
    );
  }
  return actual;
}

export interface RegisterPorts {
  /** The event types the stack processes. */
  enabledTypes: readonly string[];
  secrets: SecretSink;
  close(): Promise<void> | void;
}

export type RegisterDeps = StripeCommandDeps<RegisterPorts>;

export type RegisterOutcome =
  | { action: 'created'; endpoint: Stripe.WebhookEndpoint; kept: number }
  | { action: 'updated'; endpoint: Stripe.WebhookEndpoint; added: string[]; removed: string[] };

/** Creates or updates the endpoint at `url`; on creation stores its secret via `secrets`. */
export async function registerEndpoint(
  stripe: Stripe,
  url: string,
  enabledEvents: readonly string[],
  secrets: SecretSink,
  progress: (line: string) => void,
): Promise<RegisterOutcome> {
  const matches: Stripe.WebhookEndpoint[] = [];
  for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) {
    if (endpoint.url === url) matches.push(endpoint);
  }
  if (matches.length > 1) {
    progress(
      `  ${matches.length} endpoints have this URL (${matches.map((e) => e.id).join(', ')}); updating ${matches[0]!.id}`,
    );
  }
  const existing = matches[0];
  if (existing) {
    const before = new Set(existing.enabled_events);
    const after = new Set(enabledEvents);
    const endpoint = await stripe.webhookEndpoints.update(existing.id, {
      enabled_events: [...enabledEvents] as Stripe.WebhookEndpointUpdateParams.EnabledEvent[],
      ...(existing.status === 'disabled' ? { disabled: false } : {}),
    });
    return {
      action: 'updated',
      endpoint,
      added: [...after].filter((t) => !before.has(t)),
      removed: [...before].filter((t) => !after.has(t)),
    };
  }
  const endpoint = await stripe.webhookEndpoints.create({
    url,
    enabled_events: [...enabledEvents] as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
    api_version: PINNED_API_VERSION as Stripe.WebhookEndpointCreateParams.ApiVersion,
    description: ENDPOINT_DESCRIPTION,
  });
  const secret = endpoint.secret;
  try {
    if (typeof secret !== 'string' || !WHSEC.test(secret)) {
      throw new Error('Stripe returned no signing secret for the new endpoint');
    }
    const { kept } = await secrets.add(secret);
    return { action: 'created', endpoint, kept };
  } catch (err) {
    // An endpoint whose secret is stored nowhere would deliver only 400s: remove it, so
    // that running the command again creates a fresh one (Stripe shows a secret only once).
    await stripe.webhookEndpoints.del(endpoint.id).catch(() => undefined);
    throw new Error(
      `the new endpoint ${endpoint.id} was deleted again because its signing secret could not be stored in ${secrets.location}: ${(err as Error).message}`,
    );
  }
}

export const command = defineCommand<RegisterDeps>({
  name: 'register-endpoint',
  summary:
    'Makes the Stripe webhook endpoint at that URL send exactly the event types the stack ' +
    'processes: updates it when it exists, else creates it with the API version the project ' +
    "pins and adds its signing secret to the stack's webhook secret (never printed).",
  description: [
    "The stack keeps the secrets it already holds, so an endpoint being replaced still verifies. Stripe cannot change an existing endpoint's API version: when one follows another version, or the account's default, the command says so and how to move it.",
    "With --eventbridge: creates or updates instead the Stripe event destination that delivers to Amazon EventBridge in that AWS account and region (snapshot events, the pinned API version, the account's own events), and prints its partner event source. Deploy with -c ingress=eventbridge (or both) -c eventBridgeSource=<that source> within 7 days to associate it. This form reads nothing of a stack (the destination comes before the stack that associates it), so it takes no --local, --stack or --region.",
  ],
  options: {
    url: {
      type: 'string',
      value: 'https url',
      description: 'the webhook URL (the WebhookUrl output); http://127.0.0.1 only with --local',
    },
    mode: {
      type: 'choice',
      choices: ['live', 'test'],
      description: 'refuse to run unless STRIPE_API_KEY is of this mode',
    },
    eventbridge: {
      type: 'boolean',
      description: "register Stripe's Amazon EventBridge event destination instead of a webhook",
    },
    'aws-account': {
      type: 'string',
      value: 'id',
      description: 'with --eventbridge: the 12-digit AWS account the events go to',
    },
    'aws-region': {
      type: 'string',
      value: 'region',
      description: 'with --eventbridge: its AWS region, e.g. eu-west-1',
    },
    'event-types': {
      type: 'string',
      value: 'a,b,...',
      description:
        'with --eventbridge: the types the stack enables, as -c enabledEventTypes lists them ' +
        '(default: every handled type)',
    },
  },
  usage: [
    ['url', '[mode]'],
    ['eventbridge', 'aws-account', 'aws-region', '[event-types]', '[mode]'],
  ],
  environment: STRIPE_ENVIRONMENT,
  failure: 'Stripe refused, the key is of the other mode, or the secret could not be stored',
  explainError: explainStripeError,
  examples: [
    {
      args: '--url https://abc123.execute-api.eu-west-1.amazonaws.com/webhook --mode live',
      note: 'the deployed stack, with a live-mode key',
    },
    {
      args: '--url http://127.0.0.1:3000/webhook --local',
      note: 'a test endpoint for `npm start` (Stripe cannot reach it; for trying the command)',
    },
    {
      args: '--eventbridge --aws-account 123456789012 --aws-region eu-west-1 --mode live',
      note: "Stripe's EventBridge destination for that account and region; prints the partner event source to deploy with",
    },
  ],
  async run({ args, target, io, deps }) {
    if (args.flag('eventbridge')) {
      if (args.given('url')) throw new UsageError('--url and --eventbridge exclude each other');
      if (target.local || target.stackName !== undefined || target.region !== undefined) {
        throw new UsageError(
          '--eventbridge reads nothing of a stack: drop --local, --stack and --region (--aws-account and --aws-region say where the events go)',
        );
      }
      const request = {
        awsAccount: checkAwsAccount(args.string('aws-account')),
        awsRegion: checkAwsRegion(args.string('aws-region')),
        enabledEvents: checkEventTypes(args.string('event-types')),
      };
      const mode = checkMode(stripeApiKey(io.env), args.string('mode'));
      io.err(
        `register-endpoint: Amazon EventBridge in ${request.awsAccount}/${request.awsRegion} (${mode} mode), ${request.enabledEvents.length} event types`,
      );
      const outcome = await registerEventDestination(stripeFor(deps, io), request, (line) =>
        io.err(line),
      );
      for (const line of describeDestination(outcome)) io.out(line);
      return EXIT_OK;
    }
    for (const name of ['aws-account', 'aws-region', 'event-types']) {
      if (args.given(name)) throw new UsageError(`--${name} goes with --eventbridge`);
    }
    const urlArg = args.string('url');
    if (urlArg === undefined) {
      throw new UsageError('--url is required (or --eventbridge, for the EventBridge destination)');
    }
    const url = checkEndpointUrl(urlArg, target.local);
    const mode = checkMode(stripeApiKey(io.env), args.string('mode'));
    const stripe = stripeFor(deps, io);
    const ports = await (deps.connect ?? connectRegisterTarget)(target);
    try {
      const enabledEvents = HANDLED_TYPES.filter((t) => ports.enabledTypes.includes(t));
      if (enabledEvents.length === 0) throw new Error('the target stack processes no event type');
      io.err(`register-endpoint: ${url} (${mode} mode), ${enabledEvents.length} event types`);
      const outcome = await registerEndpoint(stripe, url, enabledEvents, ports.secrets, (line) =>
        io.err(line),
      );
      for (const line of describeOutcome(outcome, ports.secrets)) io.out(line);
      for (const line of versionWarning(outcome.endpoint)) io.err(line);
      return EXIT_OK;
    } finally {
      await ports.close();
    }
  },
});

export const run = command.run;

/**
 * Why an endpoint's payloads may not have the shapes the project is tested with: it follows
 * the account's default API version (null: it moves whenever the account is upgraded), or
 * another fixed version. Empty when it sends the pinned one.
 */
export function versionWarning(
  endpoint: Pick<Stripe.WebhookEndpoint, 'id' | 'api_version'>,
): string[] {
  const move = [
    `  Stripe cannot change an existing endpoint's API version. To move it: register a new endpoint`,
    `  at another URL (created with ${PINNED_API_VERSION}), store its secret, and delete ${endpoint.id}`,
    '  once its deliveries have drained.',
  ];
  if (endpoint.api_version === null || endpoint.api_version === undefined) {
    return [
      `register-endpoint: warning: endpoint ${endpoint.id} has no API version of its own: it follows`,
      `  the account's default API version, not ${PINNED_API_VERSION} which this project pins, so its`,
      "  event shapes change whenever the account's default is upgraded in the Dashboard.",
      ...move,
    ];
  }
  if (endpoint.api_version !== PINNED_API_VERSION) {
    return [
      `register-endpoint: warning: endpoint ${endpoint.id} sends API version ${endpoint.api_version},`,
      `  not ${PINNED_API_VERSION} which this project pins. The processors read only fields older`,
      '  versions also have, but the pinned version is the one tested.',
      ...move,
    ];
  }
  return [];
}

function describeOutcome(outcome: RegisterOutcome, secrets: SecretSink): string[] {
  const { endpoint } = outcome;
  if (outcome.action === 'created') {
    return [
      `created webhook endpoint ${endpoint.id} for ${endpoint.url}: ${endpoint.enabled_events.length} event types, API version ${endpoint.api_version ?? PINNED_API_VERSION}`,
      `its signing secret was added to ${secrets.location} (not printed)`,
      ...secrets.nextSteps(outcome.kept),
    ];
  }
  return [
    `updated webhook endpoint ${endpoint.id} for ${endpoint.url}: ${endpoint.enabled_events.length} event types (${outcome.added.length} added, ${outcome.removed.length} removed); its signing secret is unchanged`,
  ];
}

/** The target's enabled types and where its webhook secret lives. */
async function connectRegisterTarget(options: TargetOptions): Promise<RegisterPorts> {
  const target = await resolveTarget(options);
  const enabledTypes = target.queues.map((q) => q.type);
  const close = () => target.close();
  if (target.kind === 'aws') {
    if (!target.secretsManager || !target.webhookSecretArn) {
      close();
      throw new TargetError(
        `${target.describe()} has no WebhookSecretArn output: cannot store the signing secret`,
      );
    }
    return {
      enabledTypes,
      secrets: secretsManagerSink(target.secretsManager, target.webhookSecretArn),
      close,
    };
  }
  // npm start reads its secrets from STRIPE_WEBHOOK_SECRET only: a file plus a restart.
  return { enabledTypes, secrets: fileSink(LOCAL_SECRET_FILE, false), close };
}

runIfEntryPoint(import.meta.url, command);
