// What `npm start` prints: once it is healthy, what a newcomer needs to send the first
// event through each way in it serves (a secret from STRIPE_WEBHOOK_SECRET is never
// printed, only the development default); when it cannot start, what is in the way and
// what to do.

import { DEFAULTS } from '../../lambdas/config';
import {
  acceptsEventBridge,
  acceptsWebhooks,
  type IngressMode,
} from '../../lambdas/eventbridge/ingress-mode';
import type { LocalConfig } from './config';

/** How a client reaches the stack's table (what .local/stack.json records for it). */
export interface BannerTable {
  dynamoEndpoint: string;
  tableName: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Where the state file is, as the reader should find it. */
  stateFile: string;
}

/** The ways in `npm start` serves (bin/local/eventbridge-bus.ts reads them). */
export interface BannerIngress {
  mode: IngressMode;
  /** The partner event source the local bus accepts. */
  source: string;
}

/**
 * The banner once healthy. The webhook lines (URL, signing secret, Stripe CLI) appear only
 * when the webhook is served, the EventBridge lines only when the local bus is; the table
 * lines (for the client package) when `table` is given.
 */
export function startupBanner(
  config: Pick<LocalConfig, 'port' | 'secrets' | 'secretFromEnv'>,
  queues: number,
  seconds: number,
  ingress: BannerIngress | null = null,
  table: BannerTable | null = null,
): string {
  const base = `http://127.0.0.1:${config.port}`;
  const mode = ingress?.mode ?? 'webhook';
  const webhook = acceptsWebhooks(mode);
  const eventBridge = ingress !== null && acceptsEventBridge(mode);
  return [
    '',
    `stripe-billing-gate is running locally: ${queues} event types, ready in ${seconds.toFixed(1)} s`,
    ...(ingress && mode !== 'webhook'
      ? [
          `  ingress:  ${mode}${webhook ? ' (webhooks and EventBridge events)' : ' (POST /webhook answers 404, as in AWS)'}`,
        ]
      : []),
    ...(webhook ? [`  webhook:  POST ${base}/webhook`] : []),
    ...(eventBridge
      ? [`  eventbridge: POST ${base}/eventbridge   one EventBridge event of ${ingress.source}`]
      : []),
    `  status:   GET  ${base}/customers/<cus_...>/billing-status   (and /events)`,
    `  override: PUT|DELETE ${base}/customers/<cus_...>/override`,
    `  health:   GET  ${base}/healthz`,
    ...(table
      ? [
          `  table:    ${table.tableName} at ${table.dynamoEndpoint}, region ${table.region}, access key id ${table.credentials.accessKeyId}, secret ${table.credentials.secretAccessKey}`,
          `            (DynamoDB Local keeps tables per access key id and region: give stripe-billing-gate-client all four; ${table.stateFile} has them)`,
        ]
      : []),
    ...(webhook
      ? [
          config.secretFromEnv
            ? `  signing secret: from STRIPE_WEBHOOK_SECRET (${config.secrets.length} secret(s), not printed)`
            : `  signing secret (development only): ${DEFAULTS.localWebhookSecret}`,
          '',
          'Forward real test-mode events with the Stripe CLI:',
          `  stripe listen --forward-to localhost:${config.port}/webhook`,
          '  It prints its own signing secret: export STRIPE_WEBHOOK_SECRET=<that whsec_...>',
          '  and run npm start again (several secrets, for a rotation: separate them with commas).',
          'Or send a signed sample event:',
          '  npm run trigger -- invoice.payment_failed --local',
        ]
      : []),
    ...(eventBridge
      ? [
          '',
          "Send a sample event as Stripe's EventBridge destination would:",
          '  npm run trigger -- invoice.payment_failed --eventbridge --local',
        ]
      : []),
    '',
    'Ctrl-C stops everything.',
  ].join('\n');
}

/** Why this port cannot be used, and what to do. */
export function portInUseMessage(
  port: number,
  running: { pid: number; port: number } | null,
): string {
  if (running && running.port === port) {
    return (
      `PORT ${port} on 127.0.0.1 is in use by this checkout's own npm start (pid ${running.pid}), ` +
      'which is running: the --local commands already reach it. To start afresh, stop it first ' +
      `(Ctrl-C in its terminal, or kill ${running.pid}).`
    );
  }
  return `PORT ${port} on 127.0.0.1 is already in use; choose another with PORT=<port>`;
}

/** Why a second npm start of the same checkout refuses. */
export function alreadyRunningMessage(running: { pid: number; port: number }): string {
  return (
    `npm start is already running in this checkout (pid ${running.pid}, port ${running.port}, ` +
    `http://127.0.0.1:${running.port}): one local stack per checkout, and the --local ` +
    'commands reach that one. Use it, or stop it first (Ctrl-C in its terminal, or ' +
    `kill ${running.pid}) and run npm start again.`
  );
}
