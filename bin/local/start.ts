// `npm start`: the local twin of the AWS stack. Real DynamoDB Local and an SQS-compatible
// server, the same table and queues, the same verifier/processor/status handlers behind a
// local HTTP front on 127.0.0.1. One per checkout (the state file is its lock). It stops
// everything it started on Ctrl-C, on SIGTERM or SIGHUP to any of its processes (npm's
// included), and when npm (or whatever started it) goes away, SIGKILL included.

import '../ops/quiet-sdk';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { makeSqsEventQueue } from '../../lambdas/adapters/event-queue';
import { staticWebhookSecrets } from '../../lambdas/adapters/webhook-secrets';
import { ConfigError } from '../../lambdas/core/errors';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { makeLogger, makeMetrics } from '../../lambdas/observability';
import { makeVerifierHandler } from '../../lambdas/verifier/make-verifier';
import { acceptsEventBridge, acceptsWebhooks } from '../../lambdas/eventbridge/ingress-mode';
import { alreadyRunningMessage, portInUseMessage, startupBanner } from './banner';
import { loadLocalConfig, type LocalConfig } from './config';
import {
  admitEventBridgeRules,
  localIngressConfig,
  makeLocalEventBus,
  type LocalIngress,
} from './eventbridge-bus';
import { LOCAL_AWS, startEmulators, type Emulators } from './emulators';
import { createFront, type ApiHandler } from './front';
import { watchAncestors } from './lifeline';
import { startLocalPipeline, type LocalPipeline } from './pipeline';
import { createBillingTable, createEventQueues, queueUrlPrefixOf } from './provision';
import {
  claimLocalState,
  LOCAL_STATE_FILE,
  LocalStackRunning,
  releaseLocalState,
  runningLocalStack,
  writeLocalState,
} from './state-file';

export const LOCAL_QUEUE_PREFIX = 'sbg-local';
export const LOCAL_TABLE = 'sbg-local-billing';

// EMF metrics are for CloudWatch; locally they would be noise on stdout.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

/** How often npm (and a shell between it and this process) is checked for being alive. */
const PARENT_CHECK_MS = 500;

async function main(): Promise<void> {
  const startedAt = performance.now();
  let config: LocalConfig;
  let ingress: LocalIngress;
  try {
    config = loadLocalConfig(process.env, process.argv.slice(2));
    ingress = localIngressConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`configuration error: ${err.message}`);
    process.exit(1);
  }
  process.env.LOG_LEVEL = config.logLevel;
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
  let claimed = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    // A stop that hangs still ends; the emulators' guard stops Java when this process is gone.
    setTimeout(() => process.exit(code || 1), 15_000).unref();
    console.log('\nstopping...');
    if (claimed) releaseLocalState();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await pipeline?.stop().catch(() => undefined);
    // Also waits for emulators still starting, so none is left behind.
    await (await emulators?.catch(() => undefined))?.stop().catch(() => undefined);
    console.log('stopped: nothing left running');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Ctrl-C reaches this process twice (from the terminal and relayed by npm/tsx): the
    // first one stops everything.
    process.on(signal, () => void stop(0));
  }
  // npm passes only SIGINT and SIGTERM on; SIGHUP or SIGKILL end npm alone, and a shell it
  // ran the script with may outlive it. Either way: stop once npm or that shell is gone.
  watchAncestors((gone) => {
    if (stopping) return;
    console.log(`\n${gone.name} (pid ${gone.pid}), which started the local stack, has ended`);
    void stop(0);
  }, PARENT_CHECK_MS);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    console.error(
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? portInUseMessage(config.port, runningLocalStack())
        : `PORT ${config.port} on 127.0.0.1 cannot be used: ${(err as Error).message}`,
    );
    process.exit(1);
  }
  try {
    claimLocalState({ pid: process.pid, port: config.port });
    claimed = true;
  } catch (err) {
    if (!(err instanceof LocalStackRunning)) throw err;
    console.error(alreadyRunningMessage(err.running));
    server.close();
    process.exit(1);
  }

  try {
    console.log('starting DynamoDB Local and the SQS emulator...');
    emulators = startEmulators();
    const { dynamoEndpoint, sqsEndpoint, exited } = await emulators;
    void exited.then((what) => {
      if (stopping) return;
      console.error(`${what}: stopping the local stack`);
      void stop(1);
    });
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
      settings: config.settings,
      ...(config.stripeApiKey ? { stripeApiKey: config.stripeApiKey } : {}),
      ...(config.stripeApiBase ? { stripeApiBase: config.stripeApiBase } : {}),
    });
    if (stopping) return;

    const base = `http://127.0.0.1:${config.port}`;
    writeLocalState({
      pid: process.pid,
      port: config.port,
      // Empty without the webhook, as a stack deployed without it has no WebhookUrl output.
      webhookUrl: acceptsWebhooks(ingress.mode) ? `${base}/webhook` : '',
      apiUrl: base,
      dynamoEndpoint,
      sqsEndpoint,
      region: LOCAL_AWS.region,
      credentials: { ...LOCAL_AWS.credentials },
      tableName: LOCAL_TABLE,
      queuePrefix: LOCAL_QUEUE_PREFIX,
      queues,
      webhookSecret: config.secretFromEnv ? 'env' : 'default',
    });
    ready = true;
    const stateFile = path.relative(process.cwd(), LOCAL_STATE_FILE);
    console.log(
      startupBanner(config, queues.length, (performance.now() - startedAt) / 1000, ingress, {
        dynamoEndpoint,
        tableName: LOCAL_TABLE,
        region: LOCAL_AWS.region,
        credentials: LOCAL_AWS.credentials,
        stateFile: stateFile.startsWith('..') ? LOCAL_STATE_FILE : stateFile,
      }),
    );
  } catch (err) {
    if (stopping) return;
    console.error(`start-up failed: ${(err as Error).message}`);
    await stop(1);
  }
}

void main();
