// Faults during a concurrent run: DynamoDB throttling and errors injected on the real
// client, the processors killed mid-batch and restarted, and the SQS endpoint going down and
// coming back. Every acknowledged event must end applied exactly once, or sit in a DLQ.
import { createServer, type Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createRequestHandler } from 'local-aws-sqs';
import { describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS, freePort } from '../../bin/local/emulators';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline';
import { createEventQueues, queueUrlPrefixOf } from '../../bin/local/provision';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import {
  derivedStatus,
  eventually,
  freshTable,
  itemStatus,
  uniqueName,
} from '../support/local-stack';
import { essence, makeWorkload, oracle } from './workload';
import { queueingVerifier, signedWebhook } from '../support/webhook-request';

const SECRET = 'whsec_fault_run';

/** An SQS emulator whose endpoint can go down and come back with its queues intact. */
async function restartableSqs() {
  const port = await freePort();
  const { requestHandler } = createRequestHandler({
    port,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  });
  let server: Server | null = null;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => void requestHandler(req, res));
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const down = () =>
    new Promise<void>((resolve) => {
      server?.closeAllConnections();
      server?.close(() => resolve());
    });
  await up();
  return { endpoint: `http://127.0.0.1:${port}`, up, down };
}

function faultyDynamo(rate: { value: number }, injected: { count: number }) {
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  // Outside the SDK's own retries (initialize step): the processor sees every fault.
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      if (
        /PutItem|Query|DeleteItem/.test(context.commandName ?? '') &&
        Math.random() < rate.value
      ) {
        injected.count += 1;
        const err = new Error('injected fault');
        err.name =
          injected.count % 2 === 0
            ? 'ProvisionedThroughputExceededException'
            : 'InternalServerError';
        throw err;
      }
      return next(args);
    },
    { step: 'initialize', name: 'faultInjection' },
  );
  return ddb;
}

const webhook = (payload: string) => signedWebhook(payload, SECRET);

describe('faults', () => {
  it('applies every acknowledged event exactly once, or dead-letters it, through injected faults', async () => {
    const sqsServer = await restartableSqs();
    const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: sqsServer.endpoint, maxAttempts: 1 });
    const table = await freshTable();
    const prefix = uniqueName('f');
    const queues = await createEventQueues(sqs, prefix, HANDLED_TYPES, {
      visibilityTimeoutSeconds: 2,
      maxReceiveCount: 8,
    });
    const verifier = queueingVerifier(sqs, queueUrlPrefixOf(queues[0]!, prefix), {
      secrets: async () => [SECRET],
    });
    const rate = { value: 0.1 };
    const injected = { count: 0 };
    const ddb = faultyDynamo(rate, injected);
    // The faults are for the processing: the pipeline's own start-up (it writes the settings
    // item once, as a deployment does) runs with them paused, so a restart cannot fail the run.
    const start = async () => {
      const during = rate.value;
      rate.value = 0;
      try {
        return await startLocalPipeline({
          dynamoEndpoint: inject('dynamoEndpoint'),
          sqsEndpoint: sqsServer.endpoint,
          tableName: table.tableName,
          streamArn: table.streamArn,
          queues,
          sweepIntervalMs: 500,
          dynamoClient: ddb,
          announce: async () => undefined,
        });
      } finally {
        rate.value = during;
      }
    };
    let pipeline: LocalPipeline = await start();

    const workload = makeWorkload({ customers: 40, events: 800, duplicateRatio: 0.1, seed: 3 });
    const acknowledged = new Set<string>();
    let answers503 = 0;
    let next = 0;
    let killed = 0;
    let sqsRestarts = 0;
    const send = async () => {
      while (next < workload.deliveries.length) {
        const event = workload.deliveries[next++]!;
        // Like Stripe: retry until a 2xx.
        for (let attempt = 0; ; attempt++) {
          const res = await verifier(webhook(JSON.stringify(event)));
          if (res.statusCode === 200) {
            acknowledged.add(event.id);
            break;
          }
          expect(res.statusCode).toBe(503);
          answers503 += 1;
          await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
        }
        if (next >= 250 && killed === 0) {
          // The processors die mid-batch; new ones take over (in-flight messages come back).
          killed += 1;
          void pipeline.stop();
          pipeline = await start();
        }
        if (next >= 500 && sqsRestarts === 0) {
          sqsRestarts += 1;
          await sqsServer.down();
          setTimeout(() => void sqsServer.up(), 1500);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, send));
    rate.value = 0; // faults stop; everything acknowledged must now drain

    const dlqDepth = async () => {
      let total = 0;
      for (const q of queues) {
        const got = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: q.dlqUrl,
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        );
        total += Number(got.Attributes?.ApproximateNumberOfMessages ?? 0);
      }
      return total;
    };
    const byCustomer = new Map<string, Set<string>>();
    for (const { event, customer } of workload.events) {
      if (!acknowledged.has(event.id)) continue;
      byCustomer.set(customer, (byCustomer.get(customer) ?? new Set()).add(event.id));
    }
    const missingIds = async () => {
      const missing: string[] = [];
      for (const [customer, ids] of byCustomer) {
        const applied = new Set((await table.store.allFacts(customer)).facts.map((f) => f.eventId));
        for (const id of ids) if (!applied.has(id)) missing.push(id);
      }
      return missing;
    };
    const deadLettered = await eventually(
      async () => {
        const missing = await missingIds();
        const dlq = await dlqDepth();
        return missing.length <= dlq ? { missing: missing.length, dlq } : null;
      },
      {
        timeoutMs: 240_000,
        intervalMs: 1000,
        what: 'every acknowledged event applied or dead-lettered',
      },
    );
    const expected = oracle(workload, Math.floor(Date.now() / 1000));
    let doubled = 0;
    for (const customer of byCustomer.keys()) {
      const ids = (await table.store.allFacts(customer)).facts.map((f) => f.eventId);
      doubled += ids.length - new Set(ids).size;
      if (deadLettered.missing === 0) {
        // What the gate answers (the status item) against the oracle of the workload.
        const status = (await itemStatus(table.store, customer))!;
        expect(status).toEqual(await derivedStatus(table.store, customer));
        expect(essence(status)).toEqual(essence(expected.get(customer)!));
      }
    }
    console.log(
      `faults: ${JSON.stringify({
        events: workload.events.length,
        deliveries: workload.deliveries.length,
        acknowledged: acknowledged.size,
        dynamoFaultsInjected: injected.count,
        processorKills: killed,
        sqsRestarts,
        webhook503s: answers503,
        lost: Math.max(0, deadLettered.missing - deadLettered.dlq),
        deadLettered: deadLettered.missing,
        doubled,
      })}`,
    );
    expect(injected.count).toBeGreaterThan(0);
    expect(doubled).toBe(0);
    await pipeline.stop();
    await sqsServer.down();
  });
});
