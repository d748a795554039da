// `npm start`: the local twin of the AWS stack. Real DynamoDB Local and an SQS-compatible
// server, the same table and queues, the same verifier/processor/status handlers behind a
// local HTTP front on 127.0.0.1. Ctrl-C stops everything it started.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { makeSqsEventQueue } from '../lambdas/adapters/event-queue';
import { staticWebhookSecrets } from '../lambdas/adapters/webhook-secrets';
import { ConfigError } from '../lambdas/core/errors';
import { HANDLED_TYPES } from '../lambdas/core/registry';
import { makeLogger, makeMetrics } from '../lambdas/observability';
import { makeVerifierHandler } from '../lambdas/verifier/make-verifier';
import { acceptsEventBridge, acceptsWebhooks } from '../lambdas/eventbridge/ingress-mode';
import { startupBanner } from './local/banner';
import { loadLocalConfig, type LocalConfig } from './local/config';
import {
  admitEventBridgeRules,
  eventBridgeBanner,
  localIngressConfig,
  makeLocalEventBus,
  type LocalIngress,
} from './local/eventbridge-bus';
import { LOCAL_AWS, startEmulators, type Emulators } from './local/emulators';
import { createFront, type ApiHandler } from './local/front';
import { startLocalPipeline, type LocalPipeline } from './local/pipeline';
import { createBillingTable, createEventQueues, queueUrlPrefixOf } from './local/provision';
import { removeLocalState, writeLocalState } from './local/state-file';

export const LOCAL_QUEUE_PREFIX = 'sbg-local';
export const LOCAL_TABLE = 'sbg-local-billing';

// EMF metrics are for CloudWatch; locally they would be noise on stdout. The SDK's notice
// about Node 20 concerns the Lambda runtime (Node 22 there), not this local twin.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const startedAt = performance.now();
  let config: LocalConfig;
  let ingress: LocalIngress;
  try {
    config = loadLocalConfig(process.env);
    ingress = localIngressConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`configuration error: ${err.message}`);
    process.exit(1);
  }
  const logger = makeLogger('local');

  let ready = false;
  let verifier: ApiHandler | null = null;
  let eventBus: ApiHandler | null = null;
  let pipeline: LocalPipeline | undefined;
  let emulators: Promise<Emulators> | undefined;
  const server = createFront(
    {
      // only called once ready
      verifier: acceptsWebhooks(ingress.mode) ? (event) => verifier!(event) : null,
      eventBridge: acceptsEventBridge(ingress.mode) ? (event) => eventBus!(event) : null,
      statusApi: () => pipeline?.statusApi ?? null,
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
    await new Promise((resolve) => server.close(resolve));
    await pipeline?.stop().catch(() => undefined);
    // Also waits for emulators still starting, so none is left behind.
    await (await emulators?.catch(() => undefined))?.stop().catch(() => undefined);
    console.log('stopped: nothing left running');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Ctrl-C reaches this process twice (from the terminal and relayed by npm/tsx): the
    // first one stops everything; a stop that hangs still ends, and the exit hook kills Java.
    process.on(signal, () => {
      if (stopping) return;
      setTimeout(() => process.exit(1), 15_000).unref();
      void stop(0);
    });
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? 'is already in use'
        : `cannot be used: ${(err as Error).message}`;
    console.error(`PORT ${config.port} on 127.0.0.1 ${reason}; choose another with PORT=<port>`);
    process.exit(1);
  }

  try {
    console.log('starting DynamoDB Local and the SQS emulator...');
    emulators = startEmulators();
    const { dynamoEndpoint, sqsEndpoint } = await emulators;
    const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamoEndpoint });
    const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: sqsEndpoint });
    const [streamArn, queues] = await Promise.all([
      createBillingTable(ddb, LOCAL_TABLE),
      createEventQueues(sqs, LOCAL_QUEUE_PREFIX, HANDLED_TYPES, {
        visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
        maxReceiveCount: config.maxReceiveCount,
      }),
    ]);
    ddb.destroy();
    if (acceptsEventBridge(ingress.mode)) {
      await admitEventBridgeRules(sqs, queues, ingress.source);
      eventBus = makeLocalEventBus({
        source: ingress.source,
        stripeMode: config.stripeMode,
        queues,
        sqs,
        logger: makeLogger('eventbridge'),
      });
    }

    verifier = makeVerifierHandler({
      secrets: staticWebhookSecrets(config.secrets),
      queue: makeSqsEventQueue(sqs, queueUrlPrefixOf(queues[0]!, LOCAL_QUEUE_PREFIX)),
      enabledTypes: new Set(HANDLED_TYPES),
      stripeMode: config.stripeMode,
      toleranceSeconds: config.toleranceSeconds,
      clock: () => new Date(),
      logger: makeLogger('verifier'),
      metrics: makeMetrics('verifier'),
    });
    pipeline = await startLocalPipeline({
      dynamoEndpoint,
      sqsEndpoint,
      tableName: LOCAL_TABLE,
      streamArn,
      queues,
      expiryWarningDays: config.expiryWarningDays,
      ...(config.stripeApiKey ? { stripeApiKey: config.stripeApiKey } : {}),
      ...(config.stripeApiBase ? { stripeApiBase: config.stripeApiBase } : {}),
    });
    if (stopping) return;

    const base = `http://127.0.0.1:${config.port}`;
    writeLocalState({
      pid: process.pid,
      port: config.port,
      webhookUrl: `${base}/webhook`,
      apiUrl: base,
      dynamoEndpoint,
      sqsEndpoint,
      tableName: LOCAL_TABLE,
      queuePrefix: LOCAL_QUEUE_PREFIX,
      queues,
      webhookSecret: config.secretFromEnv ? 'env' : 'default',
    });
    ready = true;
    console.log(startupBanner(config, queues.length, (performance.now() - startedAt) / 1000));
    for (const line of eventBridgeBanner(ingress, base)) console.log(line);
  } catch (err) {
    if (stopping) return;
    console.error(`start-up failed: ${(err as Error).message}`);
    await stop(1);
  }
}

void main();
