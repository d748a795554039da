// The stack-facing operator commands (trigger, status, override, redrive) run as an
// operator runs them, as child processes with --local against one `npm start` stack.
// Every test uses its own customers (and queues where it counts), so they run concurrently.
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventQueues } from '../../bin/local/provision';
import type { LocalState } from '../../bin/local/state-file';
import { moveByReceive, resolveQueue } from '../../bin/redrive';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { MESSAGE_ATTRIBUTES } from '../../lambdas/adapters/queue-layout';
import type { BillingStatus, HistoryEntry } from '../../lambdas/core/facts';
import { REGISTRY } from '../../lambdas/core/registry';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { eventually } from '../support/local-stack';
import { runCommand, startLocalStack, type LocalStack } from './npm-start';

let stack: LocalStack;
let base: string;
let state: LocalState;
let sqs: SQSClient;

/** Runs `npm run <command> -- <args> --local` the way npm would: tsx on bin/<command>.ts. */
const cli = (command: string, ...args: string[]) =>
  runCommand(command, [...args, '--local'], stack.commandEnv());

async function statusJson(customer: string) {
  const result = await cli('status', customer, '--json');
  if (result.code !== 0) return null;
  return JSON.parse(result.stdout) as { status: BillingStatus; events: HistoryEntry[] };
}

/** Posts a signed event to the stack's webhook, as Stripe would. */
const deliver = async (event: StripeEvent): Promise<number> => (await stack.deliver(event)).status;

/** The status API's answer (the same derivation the commands use), read over HTTP. */
async function apiStatus(customer: string) {
  const [status, events] = await Promise.all(
    ['billing-status', 'events'].map(async (r) => {
      const res = await fetch(`${base}/customers/${customer}/${r}`);
      return res.status === 200 ? ((await res.json()) as unknown) : null;
    }),
  );
  return { status: status as BillingStatus | null, events: (events ?? []) as HistoryEntry[] };
}

async function appliedOver(customer: string, eventId: string) {
  await eventually(
    async () => {
      const res = await fetch(`${base}/customers/${customer}/events`);
      if (res.status !== 200) return false;
      return ((await res.json()) as HistoryEntry[]).some((e) => e.id === eventId);
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `${eventId} to be applied` },
  );
}

const queueOf = (type: string) => {
  const q = state.queues.find((x) => x.type === type);
  if (!q) throw new Error(`no queue for ${type}`);
  return q;
};

async function messagesIn(queueUrl: string): Promise<number> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(got.Attributes?.ApproximateNumberOfMessages ?? 0);
}

const dlqCount = (type: string) => messagesIn(queueOf(type).dlqUrl);

function eventAttributes(event: StripeEvent) {
  return {
    [MESSAGE_ATTRIBUTES.eventId]: { DataType: 'String', StringValue: event.id },
    [MESSAGE_ATTRIBUTES.eventType]: { DataType: 'String', StringValue: event.type },
    [MESSAGE_ATTRIBUTES.livemode]: { DataType: 'String', StringValue: String(event.livemode) },
  };
}

beforeAll(async () => {
  stack = await startLocalStack({
    via: 'node',
    env: {
      // Poison messages reach their DLQ after two receives, one second apart.
      LOCAL_VISIBILITY_TIMEOUT_SECONDS: '1',
      LOCAL_MAX_RECEIVE_COUNT: '2',
    },
    stateDirPrefix: 'sbg-ops-',
  });
  ({ base, state, sqs } = stack);
}, 120_000);

afterAll(() => stack?.stop(), 20_000);

describe.concurrent('npm run trigger', { timeout: 90_000 }, () => {
  it('sends a signed event that the stack queues and then applies', async () => {
    // Prepare
    const customer = stripeId('cus');

    // Act
    const sent = await cli('trigger', 'invoice.payment_failed', '--customer', customer);

    // Assess
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^HTTP 200 /);
    const answer = JSON.parse(sent.stdout.replace(/^HTTP 200 /, '')) as {
      id: string;
      queued: boolean;
    };
    expect(answer.queued).toBe(true);
    await appliedOver(customer, answer.id);
    const shown = await statusJson(customer);
    expect(shown?.events.map((e) => e.id)).toContain(answer.id);
    expect(shown?.status.blockers.map((b) => b.reason)).toContain('payment_failed');
  });

  it('refuses an unknown event type with a pointer to --list', async () => {
    const result = await cli('trigger', 'invoice.exploded');

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('unknown event type "invoice.exploded"');
    expect(result.stderr).toContain('--list');
  });

  it('lists the handled event types', async () => {
    const result = await cli('trigger', '--list');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('charge.dispute.created');
    expect(result.stdout).toContain(`${REGISTRY.length} handled event types`);
  });
});

describe.concurrent('npm run status', { timeout: 90_000 }, () => {
  it('prints a table with the customer, canAllocate, blockers and events', async () => {
    // Prepare
    const customer = stripeId('cus');
    const event = buildEvent('invoice.payment_failed', { customer });
    expect(await deliver(event)).toBe(200);
    await appliedOver(customer, event.id);

    // Act
    const result = await cli('status', customer);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(customer);
    expect(result.stdout).toMatch(/canAllocate\s+false/);
    expect(result.stdout).toMatch(/payment_failed\s+in_/);
    expect(result.stdout).toContain(event.id);
  });

  it('exits 1 for a customer no applied event has mentioned', async () => {
    const customer = stripeId('cus');

    const result = await cli('status', customer);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no applied event has mentioned ${customer}`);
  });

  it('exits 2 for an id that is not a customer id', async () => {
    const result = await cli('status', 'sub_123');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not a customer id');
  });

  it('lists a parked dispute with the charge it waits for', async () => {
    // Prepare: a dispute whose charge no event has revealed, and no Stripe API key.
    const charge = stripeId('ch');
    const dispute = buildEvent('charge.dispute.created', {
      object: { id: stripeId('dp'), charge, payment_intent: stripeId('pi') },
    });
    expect(await deliver(dispute)).toBe(200);

    // Act
    const listed = await eventually(
      async () => {
        const result = await cli('status', '--parked');
        return result.code === 0 && result.stdout.includes(dispute.id) ? result : null;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'the dispute in status --parked' },
    );

    // Assess
    const row = listed.stdout.split('\n').find((l) => l.includes(dispute.id))!;
    expect(row).toContain('charge.dispute.created');
    expect(row).toContain(charge);
    expect(listed.stdout).toMatch(/\d+ parked events?/);
  });
});

describe.concurrent('npm run override', { timeout: 90_000 }, () => {
  async function knownCustomer(): Promise<string> {
    const customer = stripeId('cus');
    const event = buildEvent('customer.created', { customer });
    expect(await deliver(event)).toBe(200);
    await appliedOver(customer, event.id);
    return customer;
  }

  it('--deny blocks the customer with operator_deny and --clear restores it', async () => {
    // Prepare
    const customer = await knownCustomer();

    // Act
    const denied = await cli('override', customer, '--deny', '--reason', 'fraud review');
    const afterDeny = await apiStatus(customer);
    const cleared = await cli('override', customer, '--clear', '--json');
    const afterClear = await apiStatus(customer);

    // Assess
    expect(denied.code).toBe(0);
    expect(denied.stdout).toMatch(/canAllocate\s+false/);
    expect(afterDeny.status?.canAllocate).toBe(false);
    expect(afterDeny.status?.blockers).toEqual([
      expect.objectContaining({ reason: 'operator_deny', objectId: customer, eventId: null }),
    ]);
    expect(afterDeny.events.at(-1)).toMatchObject({
      type: 'override.deny',
      reason: 'fraud review',
      actor: expect.stringMatching(/^local:/),
    });
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ canAllocate: true, override: null });
    expect(afterClear.status).toMatchObject({ canAllocate: true, override: null });
  });

  it('exits 2 with the reason when the status API refuses the reason, writing nothing', async () => {
    // Prepare
    const customer = await knownCustomer();

    // Act
    const result = await cli('override', customer, '--allow', '--reason', 'x'.repeat(501));

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('at most 500 characters');
    const after = await apiStatus(customer);
    expect(after.status?.override).toBeNull();
    expect(after.events.map((e) => e.type)).not.toContain('override.allow');
  });
});

describe.concurrent('npm run redrive', { timeout: 90_000 }, () => {
  it('--dry-run counts a poison message that was dead-lettered', async () => {
    // Prepare: a body the charge.failed processor can never apply.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueOf('charge.failed').queueUrl,
        MessageBody: '{"object":"not an event"}',
      }),
    );
    await eventually(async () => (await dlqCount('charge.failed')) >= 1, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the poison message in the charge.failed DLQ',
    });

    // Act
    const result = await cli('redrive', '--queue', 'charge.failed', '--dry-run');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/charge\.failed\s+1\s/);
    expect(await dlqCount('charge.failed')).toBe(1);
  });

  it('moves a dead-lettered event back to its queue, where it is applied once', async () => {
    // Prepare: an event that failed while a fault existed, now sitting in its DLQ.
    const customer = stripeId('cus');
    const event = buildEvent('invoice.payment_failed', { customer });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueOf('invoice.payment_failed').dlqUrl,
        MessageBody: JSON.stringify(event),
        MessageAttributes: eventAttributes(event),
      }),
    );

    // Act
    const result = await cli('redrive', '--queue', 'invoice.payment_failed');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/invoice\.payment_failed\s+1\s+move task/);
    expect(result.stdout).toContain('total: 1 message(s) moved');
    await appliedOver(customer, event.id);
    const shown = await apiStatus(customer);
    expect(shown.events.filter((e) => e.id === event.id)).toHaveLength(1);
    expect(await dlqCount('invoice.payment_failed')).toBe(0);
  });

  it('refuses to run without --queue or --all', async () => {
    const result = await cli('redrive', '--dry-run');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--queue <event type> or --all');
  });

  it('falls back to receive, send and delete keeping body and attributes', async () => {
    // Prepare: a queue pair no poller consumes, with one event in its DLQ.
    const [pair] = await createEventQueues(sqs, `ops-fallback-${Date.now()}`, ['charge.failed']);
    const event = buildEvent('charge.failed', { customer: stripeId('cus') });
    const body = JSON.stringify(event);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: pair!.dlqUrl,
        MessageBody: body,
        MessageAttributes: eventAttributes(event),
      }),
    );

    // Act
    const moved = await moveByReceive(sqs, await resolveQueue(sqs, pair!), 1, () => {});

    // Assess
    expect(moved).toBe(1);
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pair!.queueUrl,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 1,
      }),
    );
    expect(got.Messages?.[0]?.Body).toBe(body);
    expect(got.Messages?.[0]?.MessageAttributes?.[MESSAGE_ATTRIBUTES.eventId]?.StringValue).toBe(
      event.id,
    );
    expect(await messagesIn(pair!.dlqUrl)).toBe(0);
  });
});
