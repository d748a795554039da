// What `npm start` prints: once it is healthy, what a newcomer needs to send the first
// event (a secret from STRIPE_WEBHOOK_SECRET is never printed, only the development
// default); when it cannot start, what is in the way and what to do.

import { DEFAULTS } from '../../lambdas/config';
import type { LocalConfig } from './config';

export function startupBanner(
  config: Pick<LocalConfig, 'port' | 'secrets' | 'secretFromEnv'>,
  queues: number,
  seconds: number,
): string {
  const base = `http://127.0.0.1:${config.port}`;
  return [
    '',
    `stripe-billing-gate is running locally: ${queues} event types, ready in ${seconds.toFixed(1)} s`,
    `  webhook:  POST ${base}/webhook`,
    `  status:   GET  ${base}/customers/<cus_...>/billing-status   (and /events)`,
    `  override: PUT|DELETE ${base}/customers/<cus_...>/override`,
    `  health:   GET  ${base}/healthz`,
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
