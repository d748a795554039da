// `npm start`: the local twin of the AWS stack. Real DynamoDB Local and an SQS-compatible
// server, the same table and queues, the same verifier/processor/status handlers behind a
// local HTTP front on 127.0.0.1. Ctrl-C stops everything it started.

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true'; // EMF is for CloudWatch; locally it is noise
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';

import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DEFAULTS,
  expiryWarningDays,
  integer,
  optionalString,
  parseWebhookSecrets,
  signatureTolerance,
  stripeMode,
  type Env,
} from '../lambdas/config';
import { makeSqsEventQueue } from '../lambdas/adapters/event-queue';
import { isStripeApiKey } from '../lambdas/adapters/stripe-api';
import { ConfigError } from '../lambdas/core/errors';
import { HANDLED_TYPES } from '../lambdas/core/registry';
import { makeLogger, makeMetrics } from '../lambdas/observability';
import { makeVerifierHandler } from '../lambdas/verifier/make-verifier';
import { LOCAL_AWS, startEmulators, type Emulators } from './local/emulators';
import { createFront } from './local/front';
import { startLocalPipeline, type LocalPipeline } from './local/pipeline';
import { createBillingTable, createEventQueues, queueUrlPrefixOf } from './local/provision';
import { removeLocalState, writeLocalState } from './local/state-file';

export const LOCAL_QUEUE_PREFIX = 'sbg-local';
export const LOCAL_TABLE = 'sbg-local-billing';

export interface LocalConfig {
  port: number;
  secrets: string[];
  secretSource: 'default' | 'env';
  toleranceSeconds: number;
  stripeMode: 'live' | 'test' | null;
  stripeApiKey: string | undefined;
  stripeApiBase: string | undefined;
  expiryWarningDays: number;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
}

/** CONTRACT section 2's environment, validated: an invalid value names its variable. */
export function loadLocalConfig(env: Env): LocalConfig {
  const secretValue = optionalString(env, 'STRIPE_WEBHOOK_SECRET');
  const apiKey = optionalString(env, 'STRIPE_API_KEY');
  if (apiKey !== undefined && !isStripeApiKey(apiKey)) {
    throw new ConfigError(
      'STRIPE_API_KEY must be a Stripe secret or restricted key (sk_... or rk_...)',
    );
  }
  const apiBase = optionalString(env, 'STRIPE_API_BASE');
  if (apiBase !== undefined && !/^https?:\/\/[^/\s]+/.test(apiBase)) {
    throw new ConfigError(`STRIPE_API_BASE must be an http(s) URL, got "${apiBase}"`);
  }
  return {
    port: integer(env, 'PORT', DEFAULTS.port, { min: 1, max: 65_535 }),
    secrets: parseWebhookSecrets(secretValue ?? DEFAULTS.localWebhookSecret),
    secretSource: secretValue === undefined ? 'default' : 'env',
    toleranceSeconds: signatureTolerance(env),
    stripeMode: stripeMode(env),
    stripeApiKey: apiKey?.trim(),
    stripeApiBase: apiBase,
    expiryWarningDays: expiryWarningDays(env),
    visibilityTimeoutSeconds: integer(env, 'LOCAL_VISIBILITY_TIMEOUT_SECONDS', 30, {
      min: 0,
      max: 43_200,
    }),
    maxReceiveCount: integer(env, 'LOCAL_MAX_RECEIVE_COUNT', 5, { min: 1, max: 1000 }),
  };
}

async function main() {
  let config: LocalConfig;
  try {
    config = loadLocalConfig(process.env);
  } catch (err) {
    console.error(`configuration error: ${(err as Error).message}`);
    process.exit(1);
  }
  const logger = makeLogger('local');
  let ready = false;
  let emulators: Emulators | undefined;
  let pipeline: LocalPipeline | undefined;
  let statusApi: Parameters<typeof createFront>[0]['statusApi'] = null;
  let verifier: Parameters<typeof createFront>[0]['verifier'] = async () => ({
    statusCode: 503,
    body: '{"error":"starting"}',
  });

  const server = createFront(
    {
      verifier: (e) => verifier(e),
      statusApi: (e) => (statusApi ? statusApi(e) : verifier(e)),
      ready: () => ready,
    },
    (err) => logger.error('request failed', { error: (err as Error).message }),
  );

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    console.log('\nstopping...');
    removeLocalState();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await pipeline?.stop().catch(() => undefined);
    await emulators?.stop().catch(() => undefined);
    console.log('stopped: nothing left running');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', () => resolve());
  });

  try {
    console.log('starting DynamoDB Local and the SQS emulator...');
    emulators = await startEmulators();
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: emulators.dynamoEndpoint });
    const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: emulators.sqsEndpoint });
    const streamArn = await createBillingTable(ddb, LOCAL_TABLE);
    const queues = await createEventQueues(sqs, LOCAL_QUEUE_PREFIX, HANDLED_TYPES, {
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      maxReceiveCount: config.maxReceiveCount,
    });
    const queueUrlPrefix = queueUrlPrefixOf(queues[0]!, LOCAL_QUEUE_PREFIX);

    verifier = makeVerifierHandler({
      secrets: async () => config.secrets,
      queue: makeSqsEventQueue(sqs, queueUrlPrefix),
      enabledTypes: new Set(HANDLED_TYPES),
      stripeMode: config.stripeMode,
      toleranceSeconds: config.toleranceSeconds,
      maxBodyBytes: DEFAULTS.maxBodyBytes,
      clock: () => new Date(),
      logger: makeLogger('verifier'),
      metrics: makeMetrics('verifier'),
    });
    pipeline = await startLocalPipeline({
      dynamoEndpoint: emulators.dynamoEndpoint,
      sqsEndpoint: emulators.sqsEndpoint,
      tableName: LOCAL_TABLE,
      streamArn,
      queues,
      expiryWarningDays: config.expiryWarningDays,
      ...(config.stripeApiKey ? { stripeApiKey: config.stripeApiKey } : {}),
      ...(config.stripeApiBase ? { stripeApiBase: config.stripeApiBase } : {}),
    });
    statusApi = pipeline.statusApi;

    const base = `http://127.0.0.1:${config.port}`;
    writeLocalState({
      pid: process.pid,
      port: config.port,
      webhookUrl: `${base}/webhook`,
      apiUrl: base,
      dynamoEndpoint: emulators.dynamoEndpoint,
      sqsEndpoint: emulators.sqsEndpoint,
      tableName: LOCAL_TABLE,
      queuePrefix: LOCAL_QUEUE_PREFIX,
      queues,
      webhookSecret: config.secretSource,
    });
    ready = true;
    console.log(
      [
        '',
        `stripe-billing-gate is running locally (${queues.length} event types)`,
        `  webhook:  POST ${base}/webhook`,
        `  status:   GET  ${base}/customers/<cus_...>/billing-status`,
        `  health:   GET  ${base}/healthz`,
        config.secretSource === 'default'
          ? `  signing secret (development only): ${DEFAULTS.localWebhookSecret}`
          : '  signing secret(s): from STRIPE_WEBHOOK_SECRET (not printed)',
        '',
        'With the Stripe CLI:',
        `  stripe listen --forward-to localhost:${config.port}/webhook`,
        '  (stripe listen prints its own whsec_... secret: restart with STRIPE_WEBHOOK_SECRET=<that secret> npm start)',
        'Without it:',
        '  npm run trigger -- invoice.payment_failed --local',
        '',
        'Ctrl-C stops everything.',
      ].join('\n'),
    );
  } catch (err) {
    console.error(`start-up failed: ${(err as Error).message}`);
    await stop(1);
  }
}

void main();
