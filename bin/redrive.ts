// `npm run redrive -- --queue <event type> | --all [--dry-run] [--local]`: moves
// dead-lettered events back to their processor queues once the fault is fixed. Processors
// deduplicate by event id, so a message moved twice is still applied once. Where
// EventBridge may dead-letter too (ingress eventbridge or both), its messages are unwrapped
// to the Stripe event on the way back (bin/ops/eventbridge-dead-letters.ts).
// `npm run redrive -- --announcements [--dry-run] [--discard-expired]` replays the
// announcements the notifier could not make, from its on-failure queue and the table's
// stream (bin/ops/announcement-replay.ts).

import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { registryEntry } from '../lambdas/core/registry';
import type { Announcement } from '../lambdas/notifier/make-notifier';
import { replayTargetAnnouncements, STREAM_RETENTION_HOURS } from './ops/announcement-replay';
import { eventBridgeMayDeadLetter, toProcessorMessage } from './ops/eventbridge-dead-letters';
import {
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  runIfEntryPoint,
  UsageError,
  type CommandDeps,
} from './ops/command';
import { renderTable } from './ops/table';
import {
  resolveTarget,
  TargetError,
  type Target,
  type TargetOptions,
  type TargetQueue,
} from './ops/target';

export interface RedriveDeps extends CommandDeps {
  connect?: (options: TargetOptions) => Promise<Target>;
  /** Progress polling interval. @default 1000 */
  pollIntervalMs?: number;
  /**
   * Where `--announcements` publishes what it replays.
   * @default the stack's announcements topic; locally a log line, as the local twin's notifier
   */
  announce?: (a: Announcement) => Promise<void>;
}

export interface ResolvedQueue {
  type: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
}

export interface DlqCount {
  /** Messages ready to move. */
  waiting: number;
  /** Messages received by someone and not yet back (moved once they return). */
  inFlight: number;
}

export interface MoveResult {
  moved: number;
  method: 'move task' | 'receive/send/delete' | 'receive/unwrap/send/delete';
}

type Progress = (line: string) => void;

async function arnOf(sqs: SQSClient, url: string): Promise<string> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = got.Attributes?.QueueArn;
  if (!arn) throw new TargetError(`queue ${url} has no ARN`);
  return arn;
}

export async function resolveQueue(sqs: SQSClient, q: TargetQueue): Promise<ResolvedQueue> {
  return {
    type: q.type,
    queueUrl: q.queueUrl,
    dlqUrl: q.dlqUrl,
    queueArn: q.queueArn ?? (await arnOf(sqs, q.queueUrl)),
    dlqArn: q.dlqArn ?? (await arnOf(sqs, q.dlqUrl)),
  };
}

export async function countDlq(sqs: SQSClient, dlqUrl: string): Promise<DlqCount> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: dlqUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    waiting: Number(got.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(got.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** Errors by which a server says it does not implement message move tasks. */
export function isMoveTaskUnsupported(err: unknown): boolean {
  const name = (err as { name?: string }).name ?? '';
  const message = (err as { message?: string }).message ?? '';
  return (
    /Unsupported|UnknownOperation|InvalidAction|NotImplemented/i.test(name) ||
    /not (implemented|supported)|unknown (operation|action)/i.test(message)
  );
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** SQS's own redrive: one move task per DLQ, polled until it ends. */
export async function moveWithTask(
  sqs: SQSClient,
  q: ResolvedQueue,
  progress: Progress,
  pollIntervalMs = 1000,
): Promise<number> {
  const started = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: q.dlqArn, DestinationArn: q.queueArn }),
  );
  let lastLine = '';
  for (;;) {
    const listed = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: q.dlqArn, MaxResults: 10 }),
    );
    const results = listed.Results ?? [];
    // TaskHandle is returned for running tasks only; the newest task is listed first.
    const task = results.find((t) => t.TaskHandle === started.TaskHandle) ?? results[0];
    if (!task) throw new TargetError(`the move task of ${q.type} is not listed`);
    const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
    const line = `  ${q.type}: ${task.Status ?? '?'} ${moved}/${task.ApproximateNumberOfMessagesToMove ?? '?'} moved`;
    if (line !== lastLine) progress(line);
    lastLine = line;
    if (task.Status && TERMINAL.has(task.Status)) {
      if (task.Status !== 'COMPLETED') {
        throw new TargetError(
          `the move task of ${q.type} ended ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''} after moving ${moved}`,
        );
      }
      return moved;
    }
    await new Promise((r) => setTimeout(r, pollIntervalMs));
  }
}

/** Message attributes as SendMessage takes them (the receive shape adds empty lists). */
function sendableAttributes(
  attributes: Message['MessageAttributes'],
): Record<string, MessageAttributeValue> | undefined {
  if (!attributes) return undefined;
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, v] of Object.entries(attributes)) {
    out[name] = {
      DataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { BinaryValue: v.BinaryValue } : {}),
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The fallback for servers without move tasks. Each message is sent to the source queue
 * before it is deleted from the DLQ: a crash in between duplicates it, which the processor's
 * deduplication absorbs, and never loses it. Stops after `limit` messages so messages that
 * fail again and return to the DLQ are not moved in a loop.
 */
export async function moveByReceive(
  sqs: SQSClient,
  q: ResolvedQueue,
  limit: number,
  progress: Progress,
  convert?: typeof toProcessorMessage,
): Promise<number> {
  let moved = 0;
  let emptyReceives = 0;
  const seen = new Set<string>();
  while (moved < limit && emptyReceives < 2) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: q.dlqUrl,
        MaxNumberOfMessages: Math.min(10, limit - moved),
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = (got.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
    emptyReceives = messages.length === 0 ? emptyReceives + 1 : 0;
    for (const m of messages) {
      seen.add(m.MessageId!);
      let out = { body: m.Body ?? '', attributes: sendableAttributes(m.MessageAttributes) };
      if (convert) {
        try {
          out = convert(m, out.attributes);
        } catch (err) {
          progress(
            `  ${q.type}: left message ${m.MessageId} in the DLQ: ${(err as Error).message}`,
          );
          continue;
        }
      }
      const attributes = out.attributes;
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: q.queueUrl,
          MessageBody: out.body,
          ...(attributes ? { MessageAttributes: attributes } : {}),
        }),
      );
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: q.dlqUrl, ReceiptHandle: m.ReceiptHandle }),
      );
      moved++;
    }
    if (messages.length > 0) progress(`  ${q.type}: ${moved}/${limit} moved`);
  }
  return moved;
}

export async function moveBack(
  sqs: SQSClient,
  q: ResolvedQueue,
  count: number,
  progress: Progress,
  pollIntervalMs?: number,
): Promise<MoveResult> {
  if (await eventBridgeMayDeadLetter(sqs, q.dlqUrl)) {
    // A move task would move EventBridge's envelopes verbatim, and they would fail again.
    progress(`  ${q.type}: EventBridge may dead-letter here: receiving, unwrapping, resending`);
    return {
      moved: await moveByReceive(sqs, q, count, progress, toProcessorMessage),
      method: 'receive/unwrap/send/delete',
    };
  }
  try {
    return { moved: await moveWithTask(sqs, q, progress, pollIntervalMs), method: 'move task' };
  } catch (err) {
    if (!isMoveTaskUnsupported(err)) throw err;
    progress(`  ${q.type}: the server has no message move tasks; receiving and resending`);
    return { moved: await moveByReceive(sqs, q, count, progress), method: 'receive/send/delete' };
  }
}

function selectQueues(target: Target, all: boolean, type: string | undefined) {
  if (all) return [...target.queues];
  if (!registryEntry(type!)) {
    throw new UsageError(
      `unknown event type "${type}": \`npm run trigger -- --list\` shows the handled types`,
    );
  }
  const q = target.queues.find((x) => x.type === type);
  if (!q) throw new TargetError(`${target.describe()} has no queue for ${type} (type not enabled)`);
  return [q];
}

export const command = defineCommand<RedriveDeps>({
  name: 'redrive',
  summary:
    'Moves the messages of dead-letter queues back to their processor queues, once the fault ' +
    'that dead-lettered them is fixed. Processors deduplicate by event id, so nothing is ' +
    'applied twice. With --announcements, replays the canAllocate changes the notifier could ' +
    'not announce.',
  description: [
    "It uses SQS's own redrive (StartMessageMoveTask); where the server lacks it, it receives, sends and deletes each message, keeping its body and attributes.",
    'A dead-letter queue that EventBridge may write to (a stack deployed with -c ingress=eventbridge or both, or npm start -- --ingress eventbridge|both) also holds the events EventBridge could not deliver, in its own form: the EventBridge envelope, with ERROR_CODE and ERROR_MESSAGE attributes. Such a queue is moved by receive, send and delete, and each of those messages goes back as the Stripe event it carries, as the verifier would have queued it; a message that carries no Stripe event stays in the dead-letter queue and is named.',
    `--announcements reads the notifier-failures queue, where a batch of the table's stream goes once the notifier has failed it on every retry (the queue's alarm is notifier-failures-not-empty). Each message names the batch (shard and sequence numbers), not its records: they are read back from the stream and handed to the notifier's own handler, which announces exactly what the notifier would have (on the announcements topic; locally as the twin's log line), oldest batch first; then the message is deleted. One line per message says what was announced. A stream keeps a record ${STREAM_RETENTION_HOURS} hours: a message whose records the stream no longer holds is named as expired and kept (the change is still in the customer's status item, its announcement is lost), unless --discard-expired deletes it. A message whose announcement fails again stays, narrowed to what was not announced.`,
  ],
  options: {
    queue: {
      type: 'string',
      value: 'event type',
      description: 'the dead-letter queue of one event type, e.g. invoice.payment_failed',
    },
    all: { type: 'boolean', description: 'every dead-letter queue of the stack' },
    announcements: {
      type: 'boolean',
      description: "replay the notifier's failed announcements (the notifier-failures queue)",
    },
    'dry-run': {
      type: 'boolean',
      description:
        'only count what each dead-letter queue holds; with --announcements, list what would be announced',
    },
    'discard-expired': {
      type: 'boolean',
      description: `with --announcements: delete the messages whose records the stream no longer holds (older than ${STREAM_RETENTION_HOURS} h)`,
    },
  },
  usage: [
    ['queue|all', '[dry-run]'],
    ['announcements', '[dry-run]', '[discard-expired]'],
  ],
  failure:
    'a move or a replay failed, an on-failure message was kept (expired or failing again), or the stack could not be reached',
  examples: [
    { args: '--all --dry-run --local', note: 'count the dead-lettered messages of every type' },
    {
      args: '--queue invoice.payment_failed --local',
      note: 'move the dead-lettered invoice.payment_failed events back',
    },
    {
      args: '--announcements --dry-run --local',
      note: 'list the announcements the notifier failed and a replay would make',
    },
  ],
  async run({ args, target: targetOptions, io, deps }) {
    const all = args.flag('all');
    const type = args.string('queue');
    const announcements = args.flag('announcements');
    const discardExpired = args.flag('discard-expired');
    if (announcements && (all || type !== undefined)) {
      throw new UsageError(
        '--announcements replays announcements: give it without --queue or --all',
      );
    }
    if (discardExpired && !announcements) {
      throw new UsageError('--discard-expired goes with --announcements');
    }
    if (!announcements && all === (type !== undefined)) {
      throw new UsageError('give either --queue <event type> or --all, or --announcements');
    }
    const dryRun = args.flag('dry-run');
    const target = await (deps.connect ?? resolveTarget)(targetOptions);
    if (announcements) {
      try {
        return await replayTargetAnnouncements(
          target,
          { dryRun, discardExpired, ...(deps.announce ? { announce: deps.announce } : {}) },
          io,
        );
      } finally {
        target.close();
      }
    }
    try {
      const selected = selectQueues(target, all, type);
      io.err(
        `${dryRun ? 'counting' : 'redriving'} ${selected.length} DLQ(s) of ${target.describe()}`,
      );
      const counted: { q: TargetQueue; count: DlqCount }[] = [];
      for (const q of selected) counted.push({ q, count: await countDlq(target.sqs, q.dlqUrl) });
      const nonEmpty = counted.filter((c) => c.count.waiting + c.count.inFlight > 0);
      const totalWaiting = counted.reduce((n, c) => n + c.count.waiting, 0);
      const totalInFlight = counted.reduce((n, c) => n + c.count.inFlight, 0);

      if (dryRun) {
        const rows = (selected.length === 1 ? counted : nonEmpty).map((c) => [
          c.q.type,
          String(c.count.waiting),
          String(c.count.inFlight),
        ]);
        if (rows.length > 0) {
          renderTable(['EVENT TYPE', 'DLQ MESSAGES', 'IN FLIGHT'], rows, {
            align: ['left', 'right', 'right'],
          }).forEach((l) => io.out(l));
        }
        io.out(
          `total: ${totalWaiting} dead-lettered message(s) would be moved` +
            (totalInFlight ? `, ${totalInFlight} in flight` : '') +
            ` (${selected.length - nonEmpty.length} of ${selected.length} DLQ(s) empty)`,
        );
        return EXIT_OK;
      }

      const rows: string[][] = [];
      let totalMoved = 0;
      let queuesMoved = 0;
      const failures: string[] = [];
      for (const { q, count } of counted) {
        if (count.waiting === 0) {
          if (selected.length === 1 || count.inFlight > 0) {
            rows.push([
              q.type,
              '0',
              count.inFlight ? `${count.inFlight} in flight, not moved` : 'empty',
            ]);
          }
          continue;
        }
        try {
          const resolved = await resolveQueue(target.sqs, q);
          const result = await moveBack(
            target.sqs,
            resolved,
            count.waiting,
            io.err,
            deps.pollIntervalMs,
          );
          totalMoved += result.moved;
          if (result.moved > 0) queuesMoved++;
          rows.push([q.type, String(result.moved), result.method]);
        } catch (err) {
          const message = (err as Error).message;
          failures.push(`${q.type}: ${message}`);
          rows.push([q.type, '-', `FAILED: ${message}`]);
        }
      }
      if (rows.length > 0)
        renderTable(['EVENT TYPE', 'MOVED', 'HOW'], rows, {
          align: ['left', 'right', 'left'],
        }).forEach((l) => io.out(l));
      io.out(
        `total: ${totalMoved} message(s) moved back to ${queuesMoved} queue(s)` +
          (failures.length ? `, ${failures.length} failed` : '') +
          (selected.length > 1 ? ` (${selected.length - nonEmpty.length} DLQ(s) were empty)` : ''),
      );
      if (failures.length > 0) {
        failures.forEach((f) => io.err(`redrive: ${f}`));
        return EXIT_FAILURE;
      }
      return EXIT_OK;
    } finally {
      target.close();
    }
  },
});

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
