// `npm run register-endpoint -- --eventbridge` against the fake Stripe API's v2 event
// destinations: creates the amazon_eventbridge destination (snapshot, pinned API version,
// exactly the enabled types, own account only), prints its partner event source and the
// deploy line, updates it in place on a second run, and refuses bad arguments before any
// call to Stripe.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { command, run } from '../../bin/register-endpoint';
import { PINNED_API_VERSION } from '../../bin/events/stripe-events';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { partnerSourceProblem } from '../../lambdas/eventbridge/envelope';
import { capture, stripeHarness, type StripeHarness } from '../support/stripe-commands';

let h: StripeHarness;

beforeEach(async () => {
  h = await stripeHarness();
});

afterEach(async () => {
  await h.fake.close();
});

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

async function register(extra: string[] = [], out = capture()) {
  const code = await run(
    ['--eventbridge', '--aws-account', ACCOUNT, '--aws-region', REGION, ...extra],
    {
      ...out.io,
      env: h.env,
      stripe: h.stripe,
      connect: async () => {
        throw new Error('--eventbridge needs no stack');
      },
    },
  );
  return { code, out };
}

describe('register-endpoint --eventbridge', () => {
  it('creates an amazon_eventbridge destination with snapshot events of every type', async () => {
    // Act
    const { code } = await register();

    // Assess
    expect(code).toBe(0);
    expect(h.fake.eventDestinations).toHaveLength(1);
    expect(h.fake.eventDestinations[0]).toMatchObject({
      type: 'amazon_eventbridge',
      event_payload: 'snapshot',
      snapshot_api_version: PINNED_API_VERSION,
      enabled_events: [...HANDLED_TYPES],
      events_from: ['@self'],
      amazon_eventbridge: { aws_account_id: ACCOUNT },
    });
    const [create] = h.fake.requestsTo('/v2/core/event_destinations', 'POST');
    expect(create!.body).toMatchObject({
      amazon_eventbridge: { aws_account_id: ACCOUNT, aws_region: REGION },
    });
  });

  it('prints the partner event source to deploy with, and the 7-day window', async () => {
    // Act
    const { out } = await register();

    // Assess
    const id = h.fake.eventDestinations[0]!.id;
    const source = `aws.partner/stripe.com/${id}`;
    expect(partnerSourceProblem(source)).toBeNull();
    expect(out.out).toContain(`partner event source: ${source} (pending)`);
    expect(out.out).toContain(
      `  npx cdk deploy -c ingress=eventbridge -c eventBridgeSource=${source}`,
    );
    expect(out.text()).toMatch(/within 7 days/);
  });

  it('enables exactly the given types, as -c enabledEventTypes reads them', async () => {
    // Act
    await register(['--event-types', 'invoice.paid, charge.dispute.created']);

    // Assess: registry order
    expect(h.fake.eventDestinations[0]!.enabled_events).toEqual([
      'invoice.paid',
      'charge.dispute.created',
    ]);
  });

  it('updates the destination of that account and region in place on a second run', async () => {
    // Prepare
    await register();
    const id = h.fake.eventDestinations[0]!.id;
    h.fake.eventDestinations[0]!.amazon_eventbridge!.aws_event_source_status = 'active';

    // Act
    const { code, out } = await register(['--event-types', 'invoice.paid']);

    // Assess
    expect(code).toBe(0);
    expect(h.fake.eventDestinations).toHaveLength(1);
    expect(h.fake.eventDestinations[0]).toMatchObject({ id, enabled_events: ['invoice.paid'] });
    expect(h.fake.requestsTo(`/v2/core/event_destinations/${id}`, 'POST')).toHaveLength(1);
    expect(out.out[0]).toMatch(
      new RegExp(
        `updated event destination ${id}: 1 event types \\(0 added, ${HANDLED_TYPES.length - 1} removed\\)`,
      ),
    );
    expect(out.out).toContain(`the stack's eventBridgeSource must be aws.partner/stripe.com/${id}`);
  });

  it('enables a destination that was disabled', async () => {
    // Prepare
    await register();
    const id = h.fake.eventDestinations[0]!.id;
    h.fake.eventDestinations[0]!.status = 'disabled';

    // Act
    await register();

    // Assess
    expect(h.fake.eventDestinations[0]!.status).toBe('enabled');
    expect(h.fake.requestsTo(`/v2/core/event_destinations/${id}/enable`, 'POST')).toHaveLength(1);
  });

  it('creates a new destination when the old one lost its event source, or is elsewhere', async () => {
    // Prepare
    await register();
    h.fake.eventDestinations[0]!.amazon_eventbridge!.aws_event_source_status = 'deleted';

    // Act
    await register();
    await run(['--eventbridge', '--aws-account', ACCOUNT, '--aws-region', 'us-east-1'], {
      ...capture().io,
      env: h.env,
      stripe: h.stripe,
    });

    // Assess
    expect(h.fake.eventDestinations).toHaveLength(3);
  });

  it('pages through every destination to find its own', async () => {
    // Prepare: 25 destinations of others before ours (the fake pages by 20)
    await register();
    const ours = h.fake.eventDestinations.pop()!;
    for (let i = 0; i < 25; i++) {
      h.fake.eventDestinations.push({ ...ours, id: `ed_test_other${i}`, name: `other-${i}` });
    }
    h.fake.eventDestinations.push(ours);

    // Act
    await register(['--event-types', 'invoice.paid']);

    // Assess
    expect(h.fake.eventDestinations).toHaveLength(26);
    expect(h.fake.eventDestinations.at(-1)!.enabled_events).toEqual(['invoice.paid']);
  });

  it.each([
    [['--aws-region', REGION], /--aws-account is required/],
    [['--aws-account', '1234', '--aws-region', REGION], /12-digit AWS account id/],
    [['--aws-account', ACCOUNT], /--aws-region is required/],
    [['--aws-account', ACCOUNT, '--aws-region', 'Europe'], /AWS region such as eu-west-1/],
    [
      ['--aws-account', ACCOUNT, '--aws-region', REGION, '--event-types', 'invoice.nope'],
      /unknown event type\(s\) invoice.nope/,
    ],
    [
      ['--aws-account', ACCOUNT, '--aws-region', REGION, '--url', 'https://x.example/webhook'],
      /--url and --eventbridge exclude each other/,
    ],
    [['--aws-account', ACCOUNT, '--aws-region', REGION, '--local'], /reads nothing of a stack/],
    [
      ['--aws-account', ACCOUNT, '--aws-region', REGION, '--stack', 'StripeBillingGate'],
      /drop --local, --stack and --region/,
    ],
  ])('refuses bad arguments before calling Stripe (%#)', async (args, message) => {
    // Prepare
    const out = capture();

    // Act
    const code = await run(['--eventbridge', ...args], {
      ...out.io,
      env: h.env,
      stripe: h.stripe,
    });

    // Assess
    expect(code).toBe(2);
    expect(out.err.join('\n')).toMatch(message);
    expect(h.fake.requests).toEqual([]);
  });

  it.each([
    [['--url', 'https://x.example/webhook', '--aws-account', ACCOUNT], /--aws-account goes with/],
    [['--url', 'https://x.example/webhook', '--event-types', 'invoice.paid'], /--event-types/],
    [[], /--url is required \(or --eventbridge, for the EventBridge destination\)/],
  ])('refuses the EventBridge options without --eventbridge (%#)', async (args, message) => {
    // Prepare
    const out = capture();

    // Act
    const code = await run(args, { ...out.io, env: h.env, stripe: h.stripe });

    // Assess
    expect(code).toBe(2);
    expect(out.err.join('\n')).toMatch(message);
    expect(h.fake.requests).toEqual([]);
  });

  it('shows both usage forms and the EventBridge options in its help', () => {
    // Act
    const help = command.help();

    // Assess
    expect(help).toMatch(
      /^Usage: npm run register-endpoint -- --url <https url> \[--mode live\|test\]/,
    );
    expect(help).toMatch(
      /^ {7}npm run register-endpoint -- --eventbridge --aws-account <id> --aws-region <region> \[--event-types <a,b,...>\] \[--mode live\|test\]/m,
    );
    expect(help).toContain('eventBridgeSource=<that source> within 7 days');
  });

  it('refuses a --mode that does not match the key', async () => {
    // Act
    const { code, out } = await register(['--mode', 'live']);

    // Assess
    expect(code).toBe(1);
    expect(out.err.join('\n')).toMatch(/test-mode key but --mode live/);
    expect(h.fake.requests).toEqual([]);
  });
});
