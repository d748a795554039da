// `npm run redrive -- --announcements`: the announcements the notifier could not make. When a
// stream batch still fails after every retry, the event source mapping (and, locally, the
// twin's stream poller) puts an on-failure record on the `<prefix>-notifier-failures` queue.
// That record names the batch (stream, shard, first and last sequence number), not its
// records: they are read back from the stream, which keeps a record 24 hours, and handed to
// the notifier's own handler (lambdas/notifier/make-notifier.ts), which announces exactly
// what the live notifier would have announced. A message is deleted once its records are
// replayed; one whose records the stream no longer holds is named and kept (the change is
// still in the customer's status item, its announcement is lost) unless --discard-expired.

import type {
  DynamoDBStreamsClient,
  _Record as SdkStreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { typeSlug } from '../../lambdas/core/registry';
import { makeNotifierHandler, type Announcement } from '../../lambdas/notifier/make-notifier';
import { LOCAL_AWS } from '../local/local-aws';
import { OUTPUT_KEYS } from '../../lib/stack-outputs';
import { EXIT_FAILURE, EXIT_OK, type CommandIo } from './command';
import { storeOf, TargetError, type Target } from './target';

/** How long a DynamoDB stream keeps a record: a failed announcement is replayable this long. */
export const STREAM_RETENTION_HOURS = 24;

/** The notifier's on-failure queue, as lib/notifier.ts names it: `<prefix>-notifier-failures`. */
export function notifierFailureQueueName(queuePrefix: string): string {
  return `${queuePrefix}-notifier-failures`;
}

/** The queue-name prefix of a processor queue (`<prefix>-<type slug>`, queue-layout.ts). */
export function queuePrefixOf(queue: { type: string; queueUrl: string }): string {
  const name = queue.queueUrl.slice(queue.queueUrl.lastIndexOf('/') + 1);
  const suffix = `-${typeSlug(queue.type)}`;
  if (!name.endsWith(suffix)) {
    throw new TargetError(`queue ${queue.queueUrl} is not named <prefix>${suffix}`);
  }
  return name.slice(0, -suffix.length);
}

// ---------------------------------------------------------------------------------------
// The on-failure record, in the form Lambda writes for a DynamoDB stream batch

/** What an on-failure record says of the batch: where its records are, not the records. */
export interface StreamBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  approximateArrivalOfFirstRecord?: string;
  approximateArrivalOfLastRecord?: string;
  batchSize?: number;
  streamArn: string;
}

export interface OnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded' | string;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError: string | null };
  version: string;
  timestamp: string;
  DDBStreamBatchInfo: StreamBatchInfo;
}

/** Lambda writes whole seconds: `2026-01-02T03:04:05Z`. */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function creationOf(record: SdkStreamRecord): Date | undefined {
  const at = record.dynamodb?.ApproximateCreationDateTime as Date | number | undefined;
  if (at === undefined) return undefined;
  return at instanceof Date ? at : new Date(at * 1000);
}

/** The on-failure record of `records` (one shard's, in order), as Lambda writes it. */
export function onFailureRecord(batch: {
  streamArn: string;
  shardId: string;
  records: readonly SdkStreamRecord[];
  invokeCount: number;
  functionArn: string;
  requestId: string;
  now: Date;
}): OnFailureRecord {
  const first = batch.records[0];
  const last = batch.records.at(-1);
  if (!first?.dynamodb?.SequenceNumber || !last?.dynamodb?.SequenceNumber) {
    throw new Error('an on-failure record names at least one record with a sequence number');
  }
  const firstAt = creationOf(first);
  const lastAt = creationOf(last);
  return {
    requestContext: {
      requestId: batch.requestId,
      functionArn: batch.functionArn,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: batch.invokeCount,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: null },
    version: '1.0',
    timestamp: batch.now.toISOString(),
    DDBStreamBatchInfo: {
      shardId: batch.shardId,
      startSequenceNumber: first.dynamodb.SequenceNumber,
      endSequenceNumber: last.dynamodb.SequenceNumber,
      ...(firstAt ? { approximateArrivalOfFirstRecord: isoSeconds(firstAt) } : {}),
      ...(lastAt ? { approximateArrivalOfLastRecord: isoSeconds(lastAt) } : {}),
      batchSize: batch.records.length,
      streamArn: batch.streamArn,
    },
  };
}

const SEQUENCE = /^\d{1,40}$/;

/** The batch an on-failure message names; throws for a body that is not one. */
export function parseOnFailureRecord(body: string): OnFailureRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error('not JSON');
  }
  const info = (parsed as Partial<OnFailureRecord> | null)?.DDBStreamBatchInfo;
  if (
    !info ||
    typeof info.streamArn !== 'string' ||
    typeof info.shardId !== 'string' ||
    !SEQUENCE.test(String(info.startSequenceNumber)) ||
    !SEQUENCE.test(String(info.endSequenceNumber))
  ) {
    throw new Error('not the on-failure record of a DynamoDB stream batch (no DDBStreamBatchInfo)');
  }
  return parsed as OnFailureRecord;
}

// ---------------------------------------------------------------------------------------
// Stream records

/** Stream records as Lambda's DynamoDB event source mapping hands them to the function. */
export function toStreamEvent(
  records: readonly SdkStreamRecord[],
  streamArn: string,
  region: string,
): DynamoDBStreamEvent {
  return {
    Records: records.map((r): DynamoDBRecord => ({
      eventID: r.eventID,
      eventName: r.eventName as 'INSERT' | 'MODIFY' | 'REMOVE',
      eventVersion: r.eventVersion,
      eventSource: 'aws:dynamodb',
      awsRegion: region,
      eventSourceARN: streamArn,
      dynamodb: {
        ...(r.dynamodb as DynamoDBRecord['dynamodb']),
        ...(r.dynamodb?.ApproximateCreationDateTime
          ? { ApproximateCreationDateTime: creationOf(r)!.getTime() / 1000 }
          : {}),
      },
    })),
  };
}

export type RangeRead =
  { kind: 'records'; records: SdkStreamRecord[] } | { kind: 'gone'; reason: string };

/** Errors by which a stream says it no longer holds a shard or a record. */
const GONE = new Set(['TrimmedDataAccessException', 'ResourceNotFoundException']);

/** Empty pages of an open shard before the reader concludes the range's end is not there. */
const EMPTY_PAGES = 5;

/**
 * The records of a batch: from an iterator AT_SEQUENCE_NUMBER of its first record to its last.
 * `gone` when the stream no longer holds them: trimmed past the retention, or the shard (or
 * the stream) deleted.
 */
export async function readStreamRange(
  streams: DynamoDBStreamsClient,
  info: StreamBatchInfo,
): Promise<RangeRead> {
  const { GetShardIteratorCommand, GetRecordsCommand } =
    await import('@aws-sdk/client-dynamodb-streams');
  const start = BigInt(info.startSequenceNumber);
  const end = BigInt(info.endSequenceNumber);
  const records: SdkStreamRecord[] = [];
  try {
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: info.streamArn,
          ShardId: info.shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: info.startSequenceNumber,
        }),
      )
    ).ShardIterator;
    let empty = 0;
    reading: while (iterator && empty < EMPTY_PAGES) {
      const got = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      const page = got.Records ?? [];
      empty = page.length === 0 ? empty + 1 : 0;
      for (const r of page) {
        const seq = BigInt(r.dynamodb?.SequenceNumber ?? '0');
        if (seq > end) break reading;
        if (seq >= start) records.push(r);
        if (seq === end) break reading;
      }
      iterator = got.NextShardIterator;
    }
  } catch (err) {
    const e = err as { name?: string; message?: string };
    if (GONE.has(e.name ?? '')) return { kind: 'gone', reason: `${e.name}: ${e.message ?? ''}` };
    throw err;
  }
  if (records.length === 0) {
    return { kind: 'gone', reason: 'the shard holds none of these records' };
  }
  return { kind: 'records', records };
}

// ---------------------------------------------------------------------------------------
// The replay

export interface ReplayOptions {
  dryRun: boolean;
  discardExpired: boolean;
  /** Where replayed announcements go. @default the target's (the topic; locally a log line) */
  announce?: (a: Announcement) => Promise<void>;
}

interface Received {
  messageId: string;
  receiptHandle: string;
  parsed: OnFailureRecord | null;
  error?: string;
}

type Verdict = 'replayed' | 'would replay' | 'expired' | 'discarded' | 'failed';

export interface ReplaySummary {
  messages: number;
  counts: Record<Verdict, number>;
  announced: number;
}

/** How long the messages of one run stay invisible to another run. */
const VISIBILITY_SECONDS = 600;
/** Receives at most this many messages per run; run again for more. */
const MAX_MESSAGES = 10_000;

async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<Received[]> {
  const byId = new Map<string, Received>();
  let emptyReceives = 0;
  while (emptyReceives < 2 && byId.size < MAX_MESSAGES) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: VISIBILITY_SECONDS,
      }),
    );
    const fresh = (got.Messages ?? []).filter((m) => m.MessageId && !byId.has(m.MessageId));
    emptyReceives = fresh.length === 0 ? emptyReceives + 1 : 0;
    for (const m of fresh) {
      let parsed: OnFailureRecord | null = null;
      let error: string | undefined;
      try {
        parsed = parseOnFailureRecord(m.Body ?? '');
      } catch (err) {
        error = (err as Error).message;
      }
      byId.set(m.MessageId!, {
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle ?? '',
        parsed,
        ...(error ? { error } : {}),
      });
    }
  }
  return [...byId.values()];
}

/** Oldest batch first, so a customer's changes are announced in the order they were made. */
function inStreamOrder(a: Received, b: Received): number {
  const ia = a.parsed?.DDBStreamBatchInfo;
  const ib = b.parsed?.DDBStreamBatchInfo;
  if (!ia || !ib) return ia ? -1 : ib ? 1 : 0;
  const ta = Date.parse(ia.approximateArrivalOfFirstRecord ?? '') || 0;
  const tb = Date.parse(ib.approximateArrivalOfFirstRecord ?? '') || 0;
  if (ta !== tb) return ta - tb;
  const sa = BigInt(ia.startSequenceNumber);
  const sb = BigInt(ib.startSequenceNumber);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function hoursAgo(iso: string | undefined, now: Date): number | null {
  const at = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(at) ? null : (now.getTime() - at) / 3_600_000;
}

function describeBatch(info: StreamBatchInfo, now: Date): string {
  const age = hoursAgo(info.approximateArrivalOfFirstRecord, now);
  const written =
    age === null
      ? ''
      : `, written ${info.approximateArrivalOfFirstRecord} (${age < 1 ? 'less than an hour' : `${Math.floor(age)} h`} ago)`;
  return (
    `shard ${info.shardId}, sequence ${info.startSequenceNumber}..${info.endSequenceNumber}` +
    (info.batchSize !== undefined ? `, ${info.batchSize} record(s)` : '') +
    written
  );
}

const describeAnnouncements = (list: readonly Announcement[]) =>
  list.length === 0
    ? 'no change of canAllocate to announce'
    : list
        .map((a) => `${a.customerId} canAllocate ${a.canAllocate} (${a.cause || '?'})`)
        .join(', ');

/** A logger that says nothing: the replay reports per message instead. */
const silent = () => new Logger({ serviceName: 'notifier-replay', logLevel: 'SILENT' });

/**
 * Replays every message of the notifier-failures queue (see the head of this file): one line
 * per message on `io.out`, then a summary line.
 */
export async function replayAnnouncements(context: {
  sqs: SQSClient;
  streams: DynamoDBStreamsClient;
  queueUrl: string;
  region: string;
  settings: Parameters<typeof makeNotifierHandler>[0]['settings'];
  announce: (a: Announcement) => Promise<void>;
  options: Omit<ReplayOptions, 'announce'>;
  io: Pick<CommandIo, 'out' | 'err' | 'now'>;
}): Promise<ReplaySummary> {
  const { sqs, streams, queueUrl, io, options } = context;
  const received = (await receiveAll(sqs, queueUrl)).sort(inStreamOrder);
  const summary: ReplaySummary = {
    messages: received.length,
    counts: { replayed: 0, 'would replay': 0, expired: 0, discarded: 0, failed: 0 },
    announced: 0,
  };
  const keep: Received[] = [];
  const say = (verdict: Verdict, m: Received, text: string) => {
    summary.counts[verdict]++;
    io.out(`${verdict} ${m.messageId}: ${text}`);
  };
  const remove = (m: Received) =>
    sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.receiptHandle }));

  try {
    for (const m of received) {
      const now = io.now();
      if (!m.parsed) {
        keep.push(m);
        say('failed', m, `kept: ${m.error}`);
        continue;
      }
      const info = m.parsed.DDBStreamBatchInfo;
      const where = describeBatch(info, now);
      let read: RangeRead;
      try {
        read = await readStreamRange(streams, info);
      } catch (err) {
        keep.push(m);
        say('failed', m, `${where}: kept: the stream could not be read: ${errorText(err)}`);
        continue;
      }
      if (read.kind === 'gone') {
        const age = hoursAgo(info.approximateArrivalOfFirstRecord, now);
        const why =
          `the stream no longer holds these records (${read.reason}); a stream keeps a record ` +
          `${STREAM_RETENTION_HOURS} h` +
          (age !== null && age >= STREAM_RETENTION_HOURS ? ' and these are older' : '') +
          ': the change is in the status item, its announcement is lost';
        if (options.discardExpired && !options.dryRun) {
          await remove(m);
          say('discarded', m, `${where}: ${why}; message deleted`);
        } else {
          keep.push(m);
          const fate = options.discardExpired
            ? 'would be deleted'
            : 'kept (--discard-expired deletes it)';
          say('expired', m, `${where}: ${why}; ${fate}`);
        }
        continue;
      }

      // Through the notifier's own handler: the same filter, the same announcements.
      const announced: Announcement[] = [];
      let failure: unknown;
      const handler = makeNotifierHandler({
        settings: context.settings,
        clock: () => io.now(),
        logger: silent(),
        announce: async (a) => {
          if (!options.dryRun) {
            try {
              await context.announce(a);
            } catch (err) {
              failure = err;
              throw err;
            }
          }
          announced.push(a);
        },
      });
      const result = await handler(toStreamEvent(read.records, info.streamArn, context.region));
      summary.announced += options.dryRun ? 0 : announced.length;
      if (options.dryRun) {
        keep.push(m);
        say(
          'would replay',
          m,
          `${where}: ${read.records.length} record(s) read; would announce ${describeAnnouncements(announced)}`,
        );
        continue;
      }
      const failedAt = result.batchItemFailures[0]?.itemIdentifier;
      if (result.batchItemFailures.length === 0) {
        await remove(m);
        say(
          'replayed',
          m,
          `${where}: announced ${describeAnnouncements(announced)}; message deleted`,
        );
        continue;
      }
      // What was announced is not announced again: the message is narrowed to what is left.
      const rest = failedAt
        ? read.records.filter((r) => BigInt(r.dynamodb?.SequenceNumber ?? '0') >= BigInt(failedAt))
        : read.records;
      let kept = 'kept';
      if (rest.length > 0 && rest.length < read.records.length) {
        const narrowed = narrow(m.parsed, rest);
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(narrowed) }),
        );
        await remove(m);
        kept = `${rest.length} record(s) from ${narrowed.DDBStreamBatchInfo.startSequenceNumber} kept in a new message`;
      } else {
        keep.push(m);
      }
      say(
        'failed',
        m,
        `${where}: ` +
          (announced.length > 0 ? `announced ${describeAnnouncements(announced)}, then ` : '') +
          `the announcement failed: ${errorText(failure)}; ${kept}`,
      );
    }
  } finally {
    // What stays in the queue is visible again at once (the alarm keeps counting it).
    for (const m of keep) {
      await sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: m.receiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch((err: unknown) =>
          io.err(`could not make message ${m.messageId} visible again: ${errorText(err)}`),
        );
    }
  }
  return summary;
}

function narrow(record: OnFailureRecord, rest: readonly SdkStreamRecord[]): OnFailureRecord {
  const first = rest[0]!;
  const at = creationOf(first);
  return {
    ...record,
    DDBStreamBatchInfo: {
      ...record.DDBStreamBatchInfo,
      startSequenceNumber: first.dynamodb!.SequenceNumber!,
      ...(at ? { approximateArrivalOfFirstRecord: isoSeconds(at) } : {}),
      batchSize: rest.length,
    },
  };
}

function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string } | undefined;
  return e ? `${e.name ?? 'Error'}: ${e.message ?? String(err)}` : 'unknown error';
}

export function summaryLine(summary: ReplaySummary, options: ReplayOptions): string {
  const c = summary.counts;
  const parts = options.dryRun
    ? [`${c['would replay']} would be replayed`]
    : [`${c.replayed} replayed (${summary.announced} announcement(s))`];
  if (c.expired) {
    const fate = !options.dryRun
      ? 'kept'
      : options.discardExpired
        ? 'would be deleted'
        : 'would be kept';
    parts.push(`${c.expired} expired and ${fate}`);
  }
  if (c.discarded) parts.push(`${c.discarded} expired and discarded`);
  if (c.failed) parts.push(`${c.failed} failed`);
  return `total: ${summary.messages} on-failure message(s): ${parts.join(', ')}`;
}

// ---------------------------------------------------------------------------------------
// Against a target

/** The URL of the target's notifier-failures queue. */
export async function failureQueueUrlOf(target: Target): Promise<string> {
  let prefix: string;
  if (target.kind === 'local' && target.local) {
    prefix = target.local.queuePrefix;
  } else {
    const queue = target.queues[0];
    if (!queue) throw new TargetError(`${target.describe()} has no queues to name it by`);
    prefix = queuePrefixOf(queue);
  }
  const name = notifierFailureQueueName(prefix);
  try {
    const got = await target.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!got.QueueUrl) throw new TargetError(`queue ${name} has no URL`);
    return got.QueueUrl;
  } catch (err) {
    if (/NonExistentQueue|QueueDoesNotExist/.test((err as Error).name ?? '')) {
      throw new TargetError(`${target.describe()} has no queue ${name}`);
    }
    throw err;
  }
}

async function streamsOf(target: Target): Promise<DynamoDBStreamsClient> {
  const { DynamoDBStreamsClient } = await import('@aws-sdk/client-dynamodb-streams');
  return target.kind === 'local' && target.local
    ? new DynamoDBStreamsClient({ ...LOCAL_AWS, endpoint: target.local.dynamoEndpoint })
    : new DynamoDBStreamsClient({ region: target.region });
}

/**
 * The target's own announcement: its topic in AWS, published by the notifier Lambda's own
 * code (lambdas/notifier/sns-announcer.ts); locally the twin's log line.
 */
async function announcerOf(
  target: Target,
  io: Pick<CommandIo, 'err'>,
): Promise<{ announce: (a: Announcement) => Promise<void>; close(): void }> {
  if (target.kind === 'local') {
    return {
      announce: async (a) => io.err(`canAllocate changed ${JSON.stringify(a)}`),
      close() {},
    };
  }
  const topicArn = target.topicArn;
  if (!topicArn) {
    throw new TargetError(
      `${target.describe()} has no ${OUTPUT_KEYS.announcementsTopicArn} output to announce on`,
    );
  }
  const [{ SNSClient }, { publishAnnouncement }] = await Promise.all([
    import('@aws-sdk/client-sns'),
    import('../../lambdas/notifier/sns-announcer'),
  ]);
  const sns = new SNSClient({ region: target.region });
  return {
    announce: (a) => publishAnnouncement(sns, topicArn, a),
    close: () => sns.destroy(),
  };
}

/** `redrive --announcements` against a target; resolves to the exit code. */
export async function replayTargetAnnouncements(
  target: Target,
  options: ReplayOptions,
  io: CommandIo,
): Promise<number> {
  const queueUrl = await failureQueueUrlOf(target);
  const { settings } = await storeOf(target, () => io.now().getTime());
  const streams = await streamsOf(target);
  const announcer = options.announce
    ? { announce: options.announce, close() {} }
    : options.dryRun
      ? { announce: async () => undefined, close() {} }
      : await announcerOf(target, io);
  try {
    io.err(
      `${options.dryRun ? 'reading' : 'replaying'} the notifier's on-failure messages of ${target.describe()}`,
    );
    const summary = await replayAnnouncements({
      sqs: target.sqs,
      streams,
      queueUrl,
      region: target.region,
      settings,
      announce: announcer.announce,
      options,
      io,
    });
    io.out(summaryLine(summary, options));
    const unresolved = summary.counts.failed + (options.dryRun ? 0 : summary.counts.expired);
    return unresolved > 0 ? EXIT_FAILURE : EXIT_OK;
  } finally {
    streams.destroy();
    announcer.close();
  }
}
