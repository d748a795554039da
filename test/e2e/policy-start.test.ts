// The access policy end to end through `npm start` (docs/behaviour.md#access-policy): a policy
// file given with `--policy` whose grace warns and then blocks by time alone, announced with
// cause `grace_ended` and listed by `GET /customers?state=...`; the same policy machinery from
// GATE_POLICY; an operator override that expires by itself (`override_expired`); and a bad
// policy file that stops start-up naming its entry. Short durations keep the file quick: each
// wait is bounded by what the documentation promises (15 s for a change made by time).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/local/emulators';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { BillingStatus, HistoryEntry } from '../../lambdas/core/facts';
import type { Announcement } from '../../lambdas/notifier/make-notifier';
import type { ListingEntry } from '../../lambdas/status-api/listing';
import { eventually } from '../support/local-stack';
import {
  listening,
  processesOfGroup,
  killGroup,
  ROOT,
  startLocalStack,
  type LocalStack,
} from './npm-start';

/** A change made by time is announced (and listed) within this under `npm start`. */
const TIME_BOUND_MS = 15_000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Temporary directories of the policy files, removed when this file ends. */
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'billing-gate-policy-'));
  dirs.push(dir);
  return dir;
}

function policyFile(document: unknown): string {
  const file = path.join(tempDir(), 'policy.json');
  writeFileSync(file, JSON.stringify(document));
  return file;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

/** The customer's status once it answers 200 and `ready` holds for it. */
function statusWhen(
  stack: LocalStack,
  customerId: string,
  ready: (s: BillingStatus) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<BillingStatus> {
  return eventually(
    async () => {
      const res = await getJson<BillingStatus>(
        `${stack.base}/customers/${customerId}/billing-status`,
      );
      return res.status === 200 && ready(res.body) ? res.body : null;
    },
    { timeoutMs, intervalMs: 250, what: `${customerId}: ${what}` },
  );
}

const listing = async (stack: LocalStack, state: string) => {
  const res = await getJson<ListingEntry[]>(`${stack.base}/customers?state=${state}`);
  expect(res.status).toBe(200);
  return res.body;
};

const history = async (stack: LocalStack, customerId: string) => {
  const res = await getJson<HistoryEntry[]>(`${stack.base}/customers/${customerId}/events`);
  expect(res.status).toBe(200);
  return res.body;
};

/**
 * The `canAllocate changed` log lines of `customerId` in the stack's output so far (the
 * stack keeps only its last 20,000 characters: poll soon after the change).
 */
function announcementsOf(stack: LocalStack, customerId: string): Announcement[] {
  return stack
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as Announcement & { message?: string };
        return parsed.message === 'canAllocate changed' && parsed.customerId === customerId
          ? [parsed]
          : [];
      } catch {
        return [];
      }
    });
}

/** Waits (at most `timeoutMs`) for the announcement of `customerId` with this cause. */
function announcement(
  stack: LocalStack,
  customerId: string,
  cause: string,
  timeoutMs: number,
): Promise<Announcement> {
  return eventually(async () => announcementsOf(stack, customerId).find((a) => a.cause === cause), {
    timeoutMs: Math.max(timeoutMs, 1),
    intervalMs: 200,
    what: `an announcement of ${customerId} with cause ${cause}:\n${stack.output().slice(-3000)}`,
  });
}

/** Milliseconds from now until `unixSeconds` plus `boundMs`. */
const untilAfter = (unixSeconds: number, boundMs: number) =>
  unixSeconds * 1000 + boundMs - Date.now();

describe('npm start -- --policy <file> with a 20s grace on payment_failed', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    const file = policyFile({ payment_failed: { action: 'block', grace: '20s' } });
    // INFO: the announcements are log lines at INFO.
    stack = await startLocalStack({
      args: ['--policy', file],
      env: { LOG_LEVEL: 'INFO' },
      stateDirPrefix: 'policy-file-',
    });
  });

  afterAll(() => stack?.stop());

  it('warns with blocksAt = since + 20, listed in grace, then blocks by time alone and announces grace_ended', async () => {
    // Prepare
    const customer = stripeId('cus');
    const invoice = stripeId('in');
    const since = nowSeconds();
    const first = buildEvent('invoice.payment_failed', {
      customer,
      created: since,
      object: { id: invoice },
    });

    // Act: the first failure
    expect((await stack.deliver(first)).status).toBe(200);
    const warned = await statusWhen(
      stack,
      customer,
      (s) => s.lastEventId === first.id,
      'the first failure applied',
    );

    // Assess: a warning that blocks at since + 20, nothing blocking yet
    const blocksAt = since + 20;
    expect(warned.canAllocate).toBe(true);
    expect(warned.blockers).toEqual([]);
    expect(warned.warnings).toContainEqual({
      reason: 'payment_failed',
      objectId: invoice,
      since,
      eventId: first.id,
      blocksAt,
    });
    expect(warned.nextChangeAt).toBe(blocksAt);
    const inGrace = await eventually(
      async () => (await listing(stack, 'grace')).find((e) => e.customerId === customer),
      { timeoutMs: 5_000, intervalMs: 250, what: `${customer} listed in grace` },
    );
    expect(inGrace).toEqual({
      customerId: customer,
      canAllocate: true,
      conditions: [{ reason: 'payment_failed', objectId: invoice, since, blocksAt }],
    });
    expect((await listing(stack, 'blocked')).map((e) => e.customerId)).not.toContain(customer);

    // Act: a later failure of the same invoice (Stripe's retry), never later than now
    const retry = buildEvent('invoice.payment_failed', {
      customer,
      created: Math.max(since + 1, nowSeconds()),
      object: { id: invoice, attempt_count: 2 },
    });
    expect((await stack.deliver(retry)).status).toBe(200);
    const retried = await statusWhen(
      stack,
      customer,
      (s) => s.lastEventId === retry.id,
      'the retry applied',
    );

    // Assess: grace stays anchored at the first failure
    expect(nowSeconds()).toBeLessThan(blocksAt);
    expect(retried.canAllocate).toBe(true);
    expect(retried.warnings.filter((w) => w.reason === 'payment_failed')).toEqual([
      { reason: 'payment_failed', objectId: invoice, since, eventId: first.id, blocksAt },
    ]);
    expect(retried.nextChangeAt).toBe(blocksAt);

    // Act: time passes blocksAt (no further event)
    const blocked = await statusWhen(
      stack,
      customer,
      (s) => !s.canAllocate,
      'blocked once the grace ended',
      untilAfter(blocksAt, TIME_BOUND_MS),
    );

    // Assess: blocked from blocksAt on, announced and listed within the bound
    expect(nowSeconds()).toBeGreaterThanOrEqual(blocksAt);
    expect(blocked.warnings.filter((w) => w.reason === 'payment_failed')).toEqual([]);
    expect(blocked.blockers).toEqual([
      { reason: 'payment_failed', objectId: invoice, since, eventId: first.id, blocksAt },
    ]);
    const announced = await announcement(
      stack,
      customer,
      'grace_ended',
      untilAfter(blocksAt, TIME_BOUND_MS),
    );
    expect(announced).toMatchObject({
      customerId: customer,
      canAllocate: false,
      blockers: ['payment_failed'],
      cause: 'grace_ended',
    });
    // No event made the change (the logger leaves a null field out of the line).
    expect(announced.eventId ?? null).toBeNull();
    const listedBlocked = await eventually(
      async () => (await listing(stack, 'blocked')).find((e) => e.customerId === customer),
      {
        timeoutMs: Math.max(untilAfter(blocksAt, TIME_BOUND_MS), 1),
        intervalMs: 250,
        what: `${customer} listed as blocked`,
      },
    );
    expect(listedBlocked).toEqual({
      customerId: customer,
      canAllocate: false,
      conditions: [{ reason: 'payment_failed', objectId: invoice, since, blocksAt }],
    });
    expect((await listing(stack, 'grace')).map((e) => e.customerId)).not.toContain(customer);
  }, 60_000);
});

describe('npm start with GATE_POLICY (the JSON itself)', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      env: {
        GATE_POLICY: JSON.stringify({ subscription_past_due: { action: 'warn' } }),
        LOG_LEVEL: 'INFO',
      },
      stateDirPrefix: 'policy-env-',
    });
  });

  afterAll(() => stack?.stop());

  it('makes a past_due subscription a warning, allowed', async () => {
    // Prepare
    const customer = stripeId('cus');
    const subscription = stripeId('sub');
    const created = nowSeconds();
    const pastDue = buildEvent('customer.subscription.updated', {
      customer,
      created,
      object: { id: subscription, status: 'past_due' },
      previousAttributes: { status: 'active' },
    });

    // Act
    expect((await stack.deliver(pastDue)).status).toBe(200);
    const status = await statusWhen(
      stack,
      customer,
      (s) => s.lastEventId === pastDue.id,
      'past_due applied',
    );

    // Assess: warned (no blocksAt: the policy gives it no deadline), never blocked
    expect(status.canAllocate).toBe(true);
    expect(status.blockers).toEqual([]);
    expect(status.warnings).toContainEqual({
      reason: 'subscription_past_due',
      objectId: subscription,
      since: created,
      eventId: pastDue.id,
    });
    const warned = await eventually(
      async () => (await listing(stack, 'warned')).find((e) => e.customerId === customer),
      { timeoutMs: 5_000, intervalMs: 250, what: `${customer} listed as warned` },
    );
    expect(warned.conditions).toContainEqual({
      reason: 'subscription_past_due',
      objectId: subscription,
      since: created,
      blocksAt: null,
    });
    expect((await listing(stack, 'grace')).map((e) => e.customerId)).not.toContain(customer);
    expect((await listing(stack, 'blocked')).map((e) => e.customerId)).not.toContain(customer);
  });

  describe('expiring overrides', () => {
    const customer = stripeId('cus');
    const put = (body: unknown) =>
      fetch(`${stack.base}/customers/${customer}/override`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    beforeAll(async () => {
      // A customer the gate knows and allows.
      const paid = buildEvent('invoice.paid', { customer, object: { id: stripeId('in') } });
      expect((await stack.deliver(paid)).status).toBe(200);
      await statusWhen(stack, customer, (s) => s.lastEventId === paid.id, 'invoice.paid applied');
    });

    it('a deny with expiresIn "10s" blocks until its expiresAt, then ends as if cleared', async () => {
      // Act
      const before = nowSeconds();
      const res = await put({ mode: 'deny', reason: 'e2e: expiring deny', expiresIn: '10s' });
      const after = nowSeconds();

      // Assess: blocked by operator_deny, with the override's expiresAt
      expect(res.status).toBe(200);
      const denied = (await res.json()) as BillingStatus;
      const expiresAt = denied.override?.expiresAt as number;
      expect(expiresAt).toBeGreaterThanOrEqual(before + 10);
      expect(expiresAt).toBeLessThanOrEqual(after + 10);
      expect(denied).toMatchObject({
        canAllocate: false,
        override: { mode: 'deny', reason: 'e2e: expiring deny', expiresAt },
        nextChangeAt: expiresAt,
      });
      expect(denied.blockers).toContainEqual(
        expect.objectContaining({ reason: 'operator_deny', objectId: customer, eventId: null }),
      );
      const read = await getJson<BillingStatus>(
        `${stack.base}/customers/${customer}/billing-status`,
      );
      expect(read.body).toMatchObject({ canAllocate: false, override: { expiresAt } });
      const setEntry = (await history(stack, customer)).find((h) => h.type === 'override.deny');
      expect(setEntry).toBeDefined();
      expect(
        await announcement(stack, customer, setEntry!.id, untilAfter(expiresAt, 0)),
      ).toMatchObject({
        canAllocate: false,
        blockers: ['operator_deny'],
        eventId: setEntry!.id,
      });

      // Act: time passes expiresAt
      const allowed = await statusWhen(
        stack,
        customer,
        (s) => s.canAllocate,
        'allowed again once the override expired',
        untilAfter(expiresAt, TIME_BOUND_MS),
      );

      // Assess: no override, no blocker; the expiry in the history and announced
      expect(nowSeconds()).toBeGreaterThanOrEqual(expiresAt);
      expect(allowed.override).toBeNull();
      expect(allowed.blockers).toEqual([]);
      expect(allowed.nextChangeAt).toBeNull();
      const expired = await eventually(
        async () => (await history(stack, customer)).find((h) => h.type === 'override.expired'),
        {
          timeoutMs: Math.max(untilAfter(expiresAt, TIME_BOUND_MS), 1),
          intervalMs: 250,
          what: 'override.expired in the history',
        },
      );
      expect(expired).toMatchObject({
        id: `${setEntry!.id}_expired`,
        type: 'override.expired',
        created: expiresAt,
        reason: 'e2e: expiring deny',
      });
      const announced = await announcement(
        stack,
        customer,
        'override_expired',
        untilAfter(expiresAt, TIME_BOUND_MS),
      );
      expect(announced).toMatchObject({
        customerId: customer,
        canAllocate: true,
        blockers: [],
        cause: 'override_expired',
      });
      expect(announced.eventId ?? null).toBeNull();
    }, 45_000);

    it('refuses a past expiresAt with 400 and changes nothing', async () => {
      // Prepare
      const statusUrl = `${stack.base}/customers/${customer}/billing-status`;
      const statusBefore = (await getJson<BillingStatus>(statusUrl)).body;
      const historyBefore = await history(stack, customer);

      // Act
      const res = await put({ mode: 'deny', reason: 'too late', expiresAt: nowSeconds() - 60 });

      // Assess
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/expiresAt/);
      expect((await getJson<BillingStatus>(statusUrl)).body).toEqual(statusBefore);
      expect(await history(stack, customer)).toEqual(historyBefore);
    });
  });
});

describe('npm start -- --policy <bad file>', () => {
  it('stops start-up with a non-zero exit naming the entry at fault, leaving nothing running', async () => {
    // Prepare
    const file = policyFile({ payment_failed: { action: 'warn', grace: '7d' } });
    const stateFile = path.join(tempDir(), 'stack.json');
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LOG_LEVEL: 'WARN',
      PORT: String(port),
      BILLING_GATE_LOCAL_STATE: stateFile,
    };
    for (const name of ['STRIPE_WEBHOOK_SECRET', 'INGRESS', 'EVENTBRIDGE_SOURCE', 'GATE_POLICY']) {
      delete env[name];
    }
    let output = '';
    const npm = spawn('npm', ['start', '--', '--policy', file], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const pgid = npm.pid!;

    // Act
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      new Promise<number | null>((resolve) => npm.once('close', resolve)),
      new Promise<'still running'>((resolve) => {
        timer = setTimeout(() => resolve('still running'), 40_000);
      }),
    ]).finally(() => clearTimeout(timer));
    const left = processesOfGroup(pgid);
    killGroup(pgid);

    // Assess
    expect(code, output).not.toBe('still running');
    expect(code).not.toBe(0);
    expect(output).toMatch(/configuration error: --policy: invalid policy: .*payment_failed/);
    expect(output).toMatch(/payment_failed"?\.grace applies only with action "block"/);
    expect(output).not.toContain('starting DynamoDB Local');
    expect(left).toEqual([]);
    expect(await listening(port)).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
  }, 45_000);
});
