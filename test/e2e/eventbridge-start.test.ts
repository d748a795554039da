// `npm start -- --ingress eventbridge` as a user runs it: the local partner bus on
// /eventbridge, no webhook (404, as in AWS, and none in the banner), and `npm run trigger --
// <type> --eventbridge --local` sending an envelope through it to the processors, applied
// once; `--ingress` refused when malformed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/local/emulators';
import { buildEvent, signatureHeader, stripeId } from '../../bin/events/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import { eventually, factIds, itemStatus, settled } from '../support/local-stack';
import { runCommand, startLocalStack, type LocalStack } from './npm-start';

let stack: LocalStack;
let base: string;

/** An operator command (or `npm start` itself) against this file's stack, bounded in time. */
const run = (script: string, args: string[], env: Record<string, string> = {}) =>
  runCommand(script, args, stack.commandEnv(env), { timeoutMs: 25_000 });

beforeAll(async () => {
  stack = await startLocalStack({
    via: 'node',
    args: ['--ingress', 'eventbridge'],
    env: { LOG_LEVEL: 'ERROR' },
    stateDirPrefix: 'sbg-eb-',
  });
  base = stack.base;
});

afterAll(() => stack?.stop());

describe('npm start -- --ingress eventbridge', () => {
  it('announces the local bus and its source, and no webhook', () => {
    // Assess
    const output = stack.output();
    expect(output).toMatch(/ingress: +eventbridge \(POST \/webhook answers 404/);
    expect(output).toContain(`eventbridge: POST ${base}/eventbridge`);
    expect(output).toContain('aws.partner/stripe.com/ed_test_local');
    expect(output).toContain('npm run trigger -- invoice.payment_failed --eventbridge --local');
    expect(output).not.toContain(`POST ${base}/webhook`);
    expect(output).not.toContain('stripe listen');
    expect(output).not.toContain(DEFAULTS.localWebhookSecret);
  });

  it('has no webhook: a correctly signed event answers 404', async () => {
    // Prepare
    const payload = JSON.stringify(buildEvent('invoice.paid'));

    // Act
    const res = await fetch(`${base}/webhook`, {
      method: 'POST',
      body: payload,
      headers: { 'stripe-signature': signatureHeader(payload, DEFAULTS.localWebhookSecret) },
    });

    // Assess
    expect(res.status).toBe(404);
  });

  it('applies an event that trigger --eventbridge --local sends through the bus', async () => {
    // Prepare
    const customer = stripeId('cus');

    // Act
    const sent = await run('trigger', [
      'invoice.payment_failed',
      '--customer',
      customer,
      '--eventbridge',
      '--local',
    ]);
    const status = await eventually(
      async () => {
        const res = await fetch(`${base}/customers/${customer}/billing-status`);
        return res.status === 200 ? ((await res.json()) as { canAllocate: boolean }) : null;
      },
      { timeoutMs: 30_000, what: `the status of ${customer}` },
    );

    const eventId = /sending invoice\.payment_failed (evt_\w+)/.exec(sent.stderr)?.[1];
    await eventually(() => settled(stack.store, customer, 1), {
      timeoutMs: 30_000,
      what: `the status item of ${customer} settled`,
    });

    // Assess
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^HTTP 200 .*"delivered":\["invoice\.payment_failed"\]/);
    expect(sent.stderr).toContain(
      'in an EventBridge envelope from aws.partner/stripe.com/ed_test_local',
    );
    expect(status.canAllocate).toBe(false);
    expect(eventId).toBeDefined();
    expect(await factIds(stack.store, customer)).toEqual([eventId]);
    expect(await itemStatus(stack.store, customer)).toMatchObject({
      canAllocate: false,
      lastEventId: eventId,
    });
  });

  it('tells trigger without --eventbridge that this stack has no webhook', async () => {
    // Act
    const sent = await run('trigger', ['invoice.paid', '--local']);

    // Assess
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/has no webhook URL \(it takes events through EventBridge only\)/);
  });

  it('tells trigger when no rule matched the envelope (another source refused)', async () => {
    // Act
    const sent = await run('trigger', ['invoice.paid', '--eventbridge', '--local'], {
      EVENTBRIDGE_SOURCE: 'aws.partner/stripe.com/ed_test_other',
    });

    // Assess
    expect(sent.code).toBe(1);
    expect(sent.stdout).toMatch(
      /^HTTP 400 .*receives events of aws.partner\/stripe.com\/ed_test_local only/,
    );
  });

  it('refuses trigger --eventbridge for a deployed stack, where only Stripe can publish', async () => {
    // Act
    const sent = await run('trigger', ['invoice.paid', '--eventbridge']);

    // Assess
    expect(sent.code).toBe(2);
    expect(sent.stderr).toMatch(/only Stripe can put events on a partner event bus/);
  });
});

describe('npm start with a bad ingress', () => {
  it('stops at start-up naming the flag', async () => {
    // Act
    const result = await run('local/start', ['--ingress', 'carrier-pigeon'], {
      PORT: String(await freePort()),
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /--ingress must be one of "webhook", "eventbridge", "both", got "carrier-pigeon"/,
    );
  });

  it('stops at start-up on a malformed EVENTBRIDGE_SOURCE', async () => {
    // Act
    const result = await run('local/start', [], {
      INGRESS: 'both',
      EVENTBRIDGE_SOURCE: 'stripe',
      PORT: String(await freePort()),
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/EVENTBRIDGE_SOURCE must start with "aws.partner\/stripe.com\/"/);
  });
});
