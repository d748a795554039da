// Failed announcements, against DynamoDB Local's stream and the SQS emulator: the local
// twin's stream poller retries a failing record, then puts an on-failure record on the
// notifier-failures queue and moves on, as the DynamoDB event source mapping does in AWS;
// `npm run redrive -- --announcements` reads the records back from the stream, announces
// them through the notifier's own handler exactly once and deletes the message, lists
// without changing anything under --dry-run, and keeps a message whose records the stream
// no longer holds unless --discard-expired (docs/behaviour.md#guarantees).
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { startLocalPipeline, type LocalPipeline } from '../../bin/local/pipeline';
import type { QueuePair } from '../../bin/local/provision';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import {
  failureQueueUrlOf,
  notifierFailureQueueName,
  parseOnFailureRecord,
  type OnFailureRecord,
} from '../../bin/ops/announcement-replay';
import { localTarget, TargetError, type Target } from '../../bin/ops/target';
import { command as redrive, run as runRedrive } from '../../bin/redrive';
import type { Announcement } from '../../lambdas/notifier/make-notifier';
import { eventually, freshQueues, freshTable } from '../support/local-stack';
import { capture } from '../support/stripe-commands';

const TYPE = 'invoice.payment_failed';
/** Retries of a failing record before the poller gives its batch up (AWS: 10). */
const RETRIES = 2;

let pipeline: LocalPipeline;
let table: Awaited<ReturnType<typeof freshTable>>;
let fresh: Awaited<ReturnType<typeof freshQueues>>;
let failureQueue: string;
/** The customer whose announcement the poller gave up (set by the poller's tests). */
let failed = '';

/** The publish target: what reached it, and how many more times it throws per customer. */
const published: Announcement[] = [];
const throwsLeft = new Map<string, number>();
/** Every publication attempt per customer, failed ones included. */
const attempts = new Map<string, number>();
async function publish(a: Announcement): Promise<void> {
  attempts.set(a.customerId, (attempts.get(a.customerId) ?? 0) + 1);
  const left = throwsLeft.get(a.customerId) ?? 0;
  if (left > 0) {
    throwsLeft.set(a.customerId, left - 1);
    throw new Error(`topic unreachable for ${a.customerId}`);
  }
  published.push(a);
}
const publishedFor = (customer: string) => published.filter((a) => a.customerId === customer);

const queue = (): QueuePair => fresh.queues[0]!;

async function failureDepth(): Promise<{ visible: number; inFlight: number }> {
  const got = await fresh.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: failureQueue,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(got.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(got.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** A payment failure of a new customer: its status flips to canAllocate false. */
async function blockNewCustomer(): Promise<{ customer: string; eventId: string }> {
  const customer = stripeId('cus');
  const event = buildEvent(TYPE, { customer, object: { id: stripeId('in') } });
  await fresh.sqs.send(
    new SendMessageCommand({ QueueUrl: queue().queueUrl, MessageBody: JSON.stringify(event) }),
  );
  return { customer, eventId: event.id };
}

/** Receives (and deletes) every message of the failure queue. */
async function takeFailureMessages(): Promise<OnFailureRecord[]> {
  const taken: OnFailureRecord[] = [];
  for (let empty = 0; empty < 2;) {
    const got = await fresh.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: failureQueue,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    const messages = got.Messages ?? [];
    empty = messages.length === 0 ? empty + 1 : 0;
    for (const m of messages) {
      taken.push(parseOnFailureRecord(m.Body ?? ''));
      await fresh.sqs.send(
        new DeleteMessageCommand({ QueueUrl: failureQueue, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
  return taken;
}

/** `npm run redrive -- <args> --local` against this file's pipeline. */
async function replay(args: string[], announce: typeof publish | null = publish) {
  const out = capture();
  const code = await runRedrive([...args, '--local'], {
    ...out.io,
    ...(announce ? { announce } : {}),
    connect: () =>
      localTarget({
        pid: process.pid,
        port: 0,
        webhookUrl: '',
        apiUrl: 'http://127.0.0.1:0',
        dynamoEndpoint: inject('dynamoEndpoint'),
        sqsEndpoint: inject('sqsEndpoint'),
        ...LOCAL_AWS,
        tableName: table.tableName,
        queuePrefix: fresh.prefix,
        queues: [...fresh.queues],
        webhookSecret: 'env',
      }),
  });
  return { code, out: out.out, err: out.err };
}

beforeAll(async () => {
  table = await freshTable();
  fresh = await freshQueues([TYPE]);
  pipeline = await startLocalPipeline({
    dynamoEndpoint: inject('dynamoEndpoint'),
    sqsEndpoint: inject('sqsEndpoint'),
    tableName: table.tableName,
    streamArn: table.streamArn,
    queues: fresh.queues,
    sweepIntervalMs: 60_000,
    announce: publish,
    notifierRetryAttempts: RETRIES,
    notifierRetryDelayMs: 20,
  });
  failureQueue = pipeline.notifierFailureQueueUrl!;
});

afterAll(async () => {
  await pipeline?.stop();
});

describe("the local twin's stream poller", () => {
  it('creates the notifier-failures queue of its queue prefix at start-up', () => {
    // Assess
    expect(failureQueue.endsWith(`/${notifierFailureQueueName(fresh.prefix)}`)).toBe(true);
  });

  it('announces a change whose publication fails fewer times than it retries, once', async () => {
    // Prepare
    const { customer } = await blockNewCustomer();
    throwsLeft.set(customer, RETRIES);

    // Act
    await eventually(async () => publishedFor(customer).length === 1, {
      what: 'the announcement after the retries',
    });

    // Assess
    expect(attempts.get(customer)).toBe(RETRIES + 1);
    expect(publishedFor(customer)).toHaveLength(1);
    expect(await failureDepth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('after the last retry puts an on-failure record naming the batch on the queue and moves on', async () => {
    // Prepare: a publish target that fails this customer's announcement every time
    const { customer } = await blockNewCustomer();
    throwsLeft.set(customer, RETRIES + 1);

    // Act
    await eventually(async () => (await failureDepth()).visible === 1, {
      what: 'the on-failure message',
    });
    const next = await blockNewCustomer();

    // Assess: the failure message is Lambda's, naming the batch; the next change is announced
    await eventually(async () => publishedFor(next.customer).length === 1, {
      what: 'the next announcement',
    });
    expect(attempts.get(customer)).toBe(RETRIES + 1);
    expect(publishedFor(customer)).toEqual([]);
    const got = await fresh.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: failureQueue, VisibilityTimeout: 0 }),
    );
    const record = parseOnFailureRecord(got.Messages![0]!.Body!);
    expect(record.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: RETRIES + 1,
    });
    expect(record.DDBStreamBatchInfo.streamArn).toBe(table.streamArn);
    expect(BigInt(record.DDBStreamBatchInfo.endSequenceNumber)).toBeGreaterThanOrEqual(
      BigInt(record.DDBStreamBatchInfo.startSequenceNumber),
    );
    expect(record.DDBStreamBatchInfo.batchSize).toBeGreaterThanOrEqual(1);
    failed = customer;
  });
});

describe('npm run redrive -- --announcements', () => {
  it("finds a deployed stack's queue by its processor queues' prefix, or says it has none", async () => {
    // Prepare: a deployed stack as the target sees it (queues found by name)
    const deployed = (queues: readonly QueuePair[]) =>
      ({
        kind: 'aws',
        sqs: fresh.sqs,
        queues: queues.map((q) => ({ type: q.type, queueUrl: q.queueUrl, dlqUrl: q.dlqUrl })),
        describe: () => 'AWS stack test',
      }) as unknown as Target;
    const other = await freshQueues([TYPE]);

    // Act
    const found = await failureQueueUrlOf(deployed(fresh.queues));
    const missing = await failureQueueUrlOf(deployed(other.queues)).catch((err: unknown) => err);

    // Assess
    expect(found).toBe(failureQueue);
    expect(missing).toBeInstanceOf(TargetError);
    expect((missing as Error).message).toBe(
      `AWS stack test has no queue ${notifierFailureQueueName(other.prefix)}`,
    );
  });

  it('says in its help what it replays and how long the stream keeps a record', () => {
    // Assess
    const help = redrive.help().replace(/\s+/g, ' ');
    expect(help).toContain('--announcements [--dry-run] [--discard-expired]');
    expect(help).toMatch(/A stream keeps a record 24 hours/);
  });

  it('refuses --discard-expired without --announcements, and --announcements with --queue', async () => {
    // Act
    const alone = await replay(['--all', '--discard-expired']);
    const mixed = await replay(['--announcements', '--queue', TYPE]);

    // Assess
    expect(alone.code).toBe(2);
    expect(alone.err.join('\n')).toContain('--discard-expired goes with --announcements');
    expect(mixed.code).toBe(2);
    expect(await failureDepth()).toEqual({ visible: 1, inFlight: 0 });
  });

  it('--dry-run lists what would be announced and changes nothing', async () => {
    // Prepare
    expect(failed).not.toBe('');
    const before = published.length;

    // Act
    const result = await replay(['--announcements', '--dry-run']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toHaveLength(2);
    expect(result.out[0]).toMatch(
      new RegExp(`^would replay \\S+: shard .*would announce ${failed} canAllocate false \\(evt_`),
    );
    expect(result.out[1]).toBe('total: 1 on-failure message(s): 1 would be replayed');
    expect(published).toHaveLength(before);
    // Still there, and visible again at once.
    expect(await failureDepth()).toEqual({ visible: 1, inFlight: 0 });
  });

  it('replays the change exactly once through the notifier and deletes the message', async () => {
    // Act
    const first = await replay(['--announcements']);
    const second = await replay(['--announcements']);

    // Assess
    expect(first.code).toBe(0);
    expect(first.out[0]).toMatch(
      new RegExp(
        `^replayed \\S+: shard .*announced ${failed} canAllocate false .*message deleted$`,
      ),
    );
    expect(first.out.at(-1)).toBe('total: 1 on-failure message(s): 1 replayed (1 announcement(s))');
    const shown = publishedFor(failed);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ canAllocate: false, blockers: ['payment_failed'] });
    expect(shown[0]!.eventId).toMatch(/^evt_/);
    expect(second.code).toBe(0);
    expect(second.out).toEqual(['total: 0 on-failure message(s): 0 replayed (0 announcement(s))']);
    expect(publishedFor(failed)).toHaveLength(1);
    expect(await failureDepth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('keeps what a failing publication left in a narrowed message, and announces nothing twice', async () => {
    // Prepare: two failed changes in one on-failure message (as one batch of the stream)
    const d = await blockNewCustomer();
    throwsLeft.set(d.customer, RETRIES + 1);
    await eventually(async () => (await failureDepth()).visible === 1, { what: "d's failure" });
    const e = await blockNewCustomer();
    throwsLeft.set(e.customer, RETRIES + 1);
    await eventually(async () => (await failureDepth()).visible === 2, { what: "e's failure" });
    const taken = await takeFailureMessages();
    const infos = taken.map((t) => t.DDBStreamBatchInfo);
    const start = infos.map((i) => BigInt(i.startSequenceNumber)).reduce((a, b) => (a < b ? a : b));
    const end = infos.map((i) => BigInt(i.endSequenceNumber)).reduce((a, b) => (a > b ? a : b));
    const combined: OnFailureRecord = {
      ...taken[0]!,
      DDBStreamBatchInfo: {
        ...infos[0]!,
        startSequenceNumber: infos.find((i) => BigInt(i.startSequenceNumber) === start)!
          .startSequenceNumber,
        endSequenceNumber: infos.find((i) => BigInt(i.endSequenceNumber) === end)!
          .endSequenceNumber,
      },
    };
    await fresh.sqs.send(
      new SendMessageCommand({ QueueUrl: failureQueue, MessageBody: JSON.stringify(combined) }),
    );
    throwsLeft.set(d.customer, 0);
    throwsLeft.set(e.customer, 1);

    // Act
    const first = await replay(['--announcements']);

    // Assess
    expect(first.code).toBe(1);
    expect(first.out[0]).toMatch(
      new RegExp(
        `^failed \\S+: .*announced ${d.customer} canAllocate false .*then the announcement failed: Error: topic unreachable for ${e.customer}; \\d+ record\\(s\\) from \\d+ kept in a new message$`,
      ),
    );
    expect(publishedFor(d.customer)).toHaveLength(1);
    expect(publishedFor(e.customer)).toEqual([]);
    expect(await failureDepth()).toEqual({ visible: 1, inFlight: 0 });

    // Act: the topic is back
    const second = await replay(['--announcements']);

    // Assess
    expect(second.code).toBe(0);
    expect(second.out[0]).toMatch(
      new RegExp(`^replayed .*announced ${e.customer} canAllocate false`),
    );
    expect(second.out[0]).not.toContain(d.customer);
    expect(publishedFor(d.customer)).toHaveLength(1);
    expect(publishedFor(e.customer)).toHaveLength(1);
    expect(await failureDepth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('announces as the local twin does (a log line) when no publish target is given', async () => {
    // Prepare
    const { customer, eventId } = await blockNewCustomer();
    throwsLeft.set(customer, RETRIES + 1);
    await eventually(async () => (await failureDepth()).visible === 1, { what: 'the failure' });

    // Act
    const result = await replay(['--announcements'], null);

    // Assess
    expect(result.code).toBe(0);
    const lines = result.err.filter((l) => l.startsWith('canAllocate changed '));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!.slice('canAllocate changed '.length))).toMatchObject({
      customerId: customer,
      canAllocate: false,
      eventId,
    });
    expect(publishedFor(customer)).toEqual([]);
    expect(await failureDepth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('reports a message whose records the stream no longer holds, keeps it, and --discard-expired deletes it', async () => {
    // Prepare: the on-failure record of a batch written 25 hours ago, whose shard is gone
    const writtenAt = new Date(Date.now() - 25 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const expired: OnFailureRecord = {
      requestContext: {
        requestId: 'r-expired',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:notifier',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 11,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: null },
      version: '1.0',
      timestamp: writtenAt,
      DDBStreamBatchInfo: {
        shardId: 'shardId-00000001000000000000-0000dead',
        startSequenceNumber: '000000000000000000001',
        endSequenceNumber: '000000000000000000002',
        approximateArrivalOfFirstRecord: writtenAt,
        approximateArrivalOfLastRecord: writtenAt,
        batchSize: 2,
        streamArn: table.streamArn,
      },
    };
    await fresh.sqs.send(
      new SendMessageCommand({ QueueUrl: failureQueue, MessageBody: JSON.stringify(expired) }),
    );
    const before = published.length;

    // Act
    const kept = await replay(['--announcements']);
    const discarded = await replay(['--announcements', '--discard-expired']);

    // Assess
    expect(kept.code).toBe(1);
    expect(kept.out[0]).toMatch(
      /^expired \S+: shard shardId-00000001000000000000-0000dead, .*\(25 h ago\): the stream no longer holds these records \(ResourceNotFoundException: .*\); a stream keeps a record 24 h and these are older: .*kept \(--discard-expired deletes it\)$/,
    );
    expect(kept.out.at(-1)).toBe(
      'total: 1 on-failure message(s): 0 replayed (0 announcement(s)), 1 expired and kept',
    );
    expect(discarded.code).toBe(0);
    expect(discarded.out[0]).toMatch(/^discarded \S+: .*message deleted$/);
    expect(discarded.out.at(-1)).toBe(
      'total: 1 on-failure message(s): 0 replayed (0 announcement(s)), 1 expired and discarded',
    );
    expect(published).toHaveLength(before);
    expect(await failureDepth()).toEqual({ visible: 0, inFlight: 0 });
  });
});
