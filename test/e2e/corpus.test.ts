// Real payloads of other projects' tests (shared/corpus, a directory beside the repository):
// full events of API versions 2020-03-02 to 2025-07-30.basil, and Stripe objects wrapped into
// events, sent through `npm start` exactly as stored and signed with the stripe package's
// helper. Each answer is the verifier's for its type, nothing is dead-lettered, and every
// customer the corpus names then reads back the status `expectedStatus` gives.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../bin/events/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import type {
  BillingStatus,
  PaymentMethodStatus,
  PaymentMethodView,
} from '../../lambdas/core/facts';
import { registryEntry } from '../../lambdas/core/registry';
import { CUSTOMER_ID, type StripeEvent, type StripeObject } from '../../lambdas/core/stripe-event';
import { eventually, queueDepth } from '../support/local-stack';
import { ROOT, startLocalStack, type LocalStack } from './npm-start';

const CORPUS = path.resolve(ROOT, '..', 'shared', 'corpus');

// ---------------------------------------------------------------------------------------
// The corpus as it is sent

type Answer = 'queued' | 'ignored' | 'refused';

interface CorpusEvent {
  /** `sync-engine/charge_failed.json`. */
  readonly file: string;
  /** The bytes sent: the file's own, or for pay/ the event wrapping its object. */
  readonly body: Buffer;
  readonly event: StripeEvent;
}

/**
 * Fixtures whose ids their authors shortened by hand (`pm_1M9HtjJDP...`, `cus_Mt3...`). An
 * event of a handled type whose ids hold anything but letters, digits, `_` and `-` is refused
 * (`400`) by the verifier, and nothing is queued (the test below checks that this table names
 * exactly those files).
 */
const SHORTENED_BY_HAND: Readonly<Record<string, Answer>> = {
  'sync-engine/payment_method_automatically_updated.json': 'refused',
  'sync-engine/payment_method_updated.json': 'refused',
};

/** Fields that hold a Stripe id, at any depth. */
const ID_FIELDS = new Set([
  'id',
  'customer',
  'customer_account',
  'payment_intent',
  'charge',
  'invoice',
  'payment_method',
  'latest_charge',
  'subscription',
  'source',
  'dispute',
]);

/** Whether an id field anywhere in `value` holds a character Stripe never puts in an id. */
function hasMangledId(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasMangledId);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(
    ([key, v]) =>
      (ID_FIELDS.has(key) && typeof v === 'string' && /[^A-Za-z0-9_-]/.test(v)) || hasMangledId(v),
  );
}

function corpusFiles(dir: string): string[] {
  return readdirSync(path.join(CORPUS, dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

/**
 * sync-engine/ and current/ hold full events, sent as stored, except that files sharing an
 * event id (sync-engine reused a few ids across files) each get their own: `<id>_<file stem>`,
 * replacing the id's bytes and nothing else.
 */
function storedEvents(dirs: readonly string[]): CorpusEvent[] {
  const files = dirs.flatMap(corpusFiles);
  const texts = new Map(files.map((f) => [f, readFileSync(path.join(CORPUS, f), 'utf8')]));
  const idOf = (f: string) => (JSON.parse(texts.get(f)!) as StripeEvent).id;
  const uses = new Map<string, number>();
  for (const f of files) uses.set(idOf(f), (uses.get(idOf(f)) ?? 0) + 1);
  return files.map((file) => {
    const original = texts.get(file)!;
    const id = idOf(file);
    let text = original;
    if (uses.get(id)! > 1) {
      const own = `${id}_${path.basename(file, '.json')}`;
      text = original.replace(`"${id}"`, `"${own}"`);
      const renamed = JSON.parse(text) as StripeEvent;
      // Only the event's own id changed.
      expect({ ...renamed, id }).toEqual(JSON.parse(original));
      expect(renamed.id).toBe(own);
    }
    return { file, body: Buffer.from(text, 'utf8'), event: JSON.parse(text) as StripeEvent };
  });
}

/**
 * The event type a pay/ file name gives. pay names the `customer.subscription.*` events
 * `subscription.*` (Stripe has no `subscription.*` events); every other name is the type.
 */
function payType(file: string): string {
  const name = path.basename(file, '.json');
  return name.startsWith('subscription.') ? `customer.${name}` : name;
}

/**
 * pay/ holds Stripe objects (or an event's `data`: `{ object, previous_attributes }`), each
 * wrapped into an event of the type its file name gives, `created` the object's own. A file
 * that already is an event (account.updated.json) is sent as stored.
 */
function payEvents(): CorpusEvent[] {
  return corpusFiles('pay').map((file) => {
    const bytes = readFileSync(path.join(CORPUS, file));
    const stored = JSON.parse(bytes.toString('utf8')) as StripeObject;
    if (stored.object === 'event') {
      return { file, body: bytes, event: stored as unknown as StripeEvent };
    }
    const data = (
      typeof stored.object === 'object' && stored.object !== null ? stored : { object: stored }
    ) as StripeEvent['data'];
    const object = data.object;
    const event: StripeEvent & Record<string, unknown> = {
      id: `evt_pay_${path.basename(file, '.json').replace(/[^A-Za-z0-9]/g, '_')}`,
      object: 'event',
      api_version: null,
      created: typeof object.created === 'number' ? object.created : 1_767_225_600,
      data,
      livemode: object.livemode === true,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: payType(file),
    };
    return { file, body: Buffer.from(JSON.stringify(event, null, 2), 'utf8'), event };
  });
}

function loadCorpus(): CorpusEvent[] {
  if (!existsSync(CORPUS)) {
    throw new Error(
      `the corpus of real Stripe payloads is missing: expected it at ${CORPUS} (a directory ` +
        'named shared/corpus beside the repository, with sync-engine/, pay/ and current/)',
    );
  }
  return [...storedEvents(['sync-engine', 'current']), ...payEvents()];
}

/** The verifier's answer for one corpus event. */
function expectedAnswer(c: CorpusEvent): Answer {
  return SHORTENED_BY_HAND[c.file] ?? (registryEntry(c.event.type) ? 'queued' : 'ignored');
}

/** Every customer id an event's object names: its customer, a customer's own id, a detached method's former customer. */
function customersNamed(event: StripeEvent): string[] {
  const o = event.data.object;
  const named = [
    o.object === 'customer' ? o.id : undefined,
    typeof o.customer === 'object' && o.customer !== null
      ? (o.customer as StripeObject).id
      : o.customer,
    event.data.previous_attributes?.customer,
  ];
  return named.filter((c): c is string => typeof c === 'string' && c.startsWith('cus_'));
}

// ---------------------------------------------------------------------------------------
// What each customer's status must be

interface ExpectedCondition {
  readonly reason: string;
  readonly objectId: string;
  readonly since: number;
  readonly eventId: string | null;
}

/** The parts of a status the rules decide (the record's own bookkeeping left out). */
interface Expected {
  readonly canAllocate: boolean;
  readonly blockers: readonly ExpectedCondition[];
  readonly warnings: readonly ExpectedCondition[];
  readonly paymentMethods: readonly PaymentMethodView[];
}

const condition = (
  reason: string,
  objectId: string,
  since: number,
  eventId: string | null,
): ExpectedCondition => ({ reason, objectId, since, eventId });

const card = (
  id: string,
  status: PaymentMethodStatus,
  last4: string,
  expMonth: number,
  expYear: number,
): PaymentMethodView => ({ id, type: 'card', status, brand: 'visa', last4, expMonth, expYear });

const allowed: Expected = { canAllocate: true, blockers: [], warnings: [], paymentMethods: [] };
const utc = (iso: string) => Date.parse(iso) / 1000;

/**
 * Hand-checked against docs/behaviour.md#rules from the payloads; each entry says which rule
 * decides it. `null`: no applied event names the customer (404).
 */
const HAND_CHECKED: Readonly<Record<string, Expected | null>> = {
  // sync-engine/ (2020-03-02 to 2023-10-16)
  // charge.failed and charge.succeeded both name a payment_intent: a charge of a PaymentIntent
  // changes no blocker; the record exists.
  cus_J7Mkgr8mvbl1eK: allowed,
  // customer.deleted blocks for good; its subscriptions are active or canceled (no blocker).
  cus_IhGfebO16cMIGN: {
    ...allowed,
    canAllocate: false,
    blockers: [
      condition(
        'customer_deleted',
        'cus_IhGfebO16cMIGN',
        1_619_701_111,
        'evt_1IlZRsJDPojXS6LN2AbFmnR4_customer_deleted',
      ),
    ],
  },
  // invoice.paid and invoice.voided of in_1KJqKBJDPojXS6LNJbvLUgEy: terminal.
  cus_JsuO3bmrj0QlAw: allowed,
  // payment_method.attached of a card that expired in 04/2024: the only method is expired, so
  // no valid method since its expiry instant (no event opened it).
  cus_N4vaPItLFHBqRE: {
    ...allowed,
    warnings: [
      condition('no_valid_payment_method', 'cus_N4vaPItLFHBqRE', utc('2024-05-01T00:00:00Z'), null),
    ],
    paymentMethods: [card('pm_1MKlmhJDPojXS6LNV8Rcj3WO', 'expired', '4242', 4, 2024)],
  },
  // payment_method.detached (previous_attributes.customer): deleted, so no valid method since
  // the deletion (before its 12/2034 expiry).
  cus_N28ZFl95925GaB: {
    ...allowed,
    warnings: [
      condition(
        'no_valid_payment_method',
        'cus_N28ZFl95925GaB',
        1_619_697_430,
        'evt_1IlYUUJDPojXS6LN7NEWYSm2_payment_method_detached',
      ),
    ],
    paymentMethods: [card('pm_1MJUwRJDPojXS6LNh4fFA1z7', 'deleted', '4242', 12, 2034)],
  },
  // Named only by types no processor handles: entitlements, credit notes, invoice.updated,
  // invoice.deleted, subscription schedules, setup intents.
  cus_Sll319ReSxCmEi: null,
  cus_NjLgPhUokHubJC: null,
  cus_JVhbiWW9p3F6wq: null,
  cus_123: null,
  cus_J2KKjtkuVwFRoZ: null,
  cus_L1o0d9VNhs3JWt: null,
  cus_N3KrCDMGLNc16B: null,
  cus_MYBJ2IE1JrPgL0: null,

  // current/ (2025-03-31.basil to 2025-07-30.basil)
  // payment_intent.payment_failed with no success after it blocks (a basil PaymentIntent names
  // no invoice); the payment method was detached (deleted) two seconds before.
  cus_SR8o2vcGRkVb6v: {
    canAllocate: false,
    blockers: [
      condition(
        'payment_failed',
        'pi_3RWGX8Q8iJWBZFaM0ZSHRgfm',
        1_749_040_506,
        'evt_3RWGX8Q8iJWBZFaM0sGXuIkJ',
      ),
    ],
    warnings: [
      condition(
        'no_valid_payment_method',
        'cus_SR8o2vcGRkVb6v',
        1_749_040_504,
        'evt_1RWGX6Q8iJWBZFaMeBzMFOpP',
      ),
    ],
    paymentMethods: [card('pm_1RWGX3Q8iJWBZFaM6l9fORzc', 'deleted', '0341', 6, 2026)],
  },
  // payment_intent.payment_failed, nothing after it.
  cus_TSOWyTkxXlWiTc: {
    ...allowed,
    canAllocate: false,
    blockers: [
      condition(
        'payment_failed',
        'pi_3SVvxMQ8iJWBZFaM1Lao8ehu',
        1_763_737_745,
        'evt_3SVvxMQ8iJWBZFaM1z5wZ6Za',
      ),
    ],
  },
  // payment_intent.canceled (terminal), payment_intent.succeeded: nothing blocks.
  cus_TOlZpKcK7V4tSl: allowed,
  cus_SZSMR33xjdtWkr: allowed,
  cus_SOXv8CncjHqSEv: allowed,
  // invoice.payment_succeeded (terminal for the invoice); invoice.finalized is not handled.
  cus_SGqVI5XZS5sDjA: allowed,
  // invoice.paid, and a subscription created active.
  cus_SsllV761J0q08n: allowed,

  // pay/ (objects wrapped into events; `created` is the object's)
  // charge.succeeded names a payment_intent: it changes no blocker.
  cus_0dUMWLtzCTagWs: allowed,
  // customer.deleted blocks for good.
  cus_EGxrcooteA3WAb: {
    ...allowed,
    canAllocate: false,
    blockers: [
      condition(
        'customer_deleted',
        'cus_EGxrcooteA3WAb',
        1_546_497_808,
        'evt_pay_customer_deleted',
      ),
    ],
  },
  // invoice.payment_failed of in_1234 blocks and its payment_action_required warns (the invoice
  // is neither paid nor void); card_1JN6... expired in 04/2024 and pm_1000 was detached, so no
  // valid method since the later of the two moments, the expiry.
  cus_1234: {
    canAllocate: false,
    blockers: [
      condition('payment_failed', 'in_1234', 1_745_433_962, 'evt_pay_invoice_payment_failed'),
    ],
    warnings: [
      condition('no_valid_payment_method', 'cus_1234', utc('2024-05-01T00:00:00Z'), null),
      condition(
        'payment_action_required',
        'in_1234',
        1_745_170_415,
        'evt_pay_invoice_payment_action_required',
      ),
    ],
    paymentMethods: [
      card('card_1JN6Z1KXBGcbgpbZ2AZJOYEZ', 'expired', '4242', 4, 2024),
      // Details from its newest event (payment_method.updated), deleted by the detach.
      card('pm_1000', 'deleted', '3184', 12, 2035),
    ],
  },
  // customer.subscription.created (active), .updated and .deleted (canceled) at one `created`:
  // canceled ranks last and is terminal.
  cus_00000000000000: allowed,
  // Named only by invoice.upcoming, checkout.session.completed and a bare invoice object.
  cus_L7lJPQIi3GxrTG: null,
  cus_M5wW9RPFk9xNZ5: null,
  cus_S9YwWMaQEgeJYO: null,
};

/**
 * The status the rules give `customerId` once `events` (the corpus events the verifier
 * queued) are applied; null for an unknown customer. For now, the hand-checked expectations
 * above; an independent derivation from `events` can stand in for them.
 */
function expectedStatus(events: readonly StripeEvent[], customerId: string): Expected | null {
  const expected = HAND_CHECKED[customerId];
  if (expected === undefined) {
    throw new Error(`no expectation for ${customerId} (${events.length} events applied)`);
  }
  return expected;
}

const answerOf = (status: number, body: string): Answer | string => {
  if (status === 400) return 'refused';
  const parsed =
    status === 200 ? (JSON.parse(body) as { queued?: boolean; ignored?: boolean }) : {};
  return parsed.queued ? 'queued' : parsed.ignored ? 'ignored' : `${status} ${body}`;
};

const rulesPart = (s: BillingStatus): Expected => ({
  canAllocate: s.canAllocate,
  blockers: s.blockers.map(({ reason, objectId, since, eventId }) => ({
    reason,
    objectId,
    since,
    eventId,
  })),
  warnings: s.warnings.map(({ reason, objectId, since, eventId }) => ({
    reason,
    objectId,
    since,
    eventId,
  })),
  paymentMethods: s.paymentMethods,
});

// ---------------------------------------------------------------------------------------

describe('the corpus of real payloads through npm start', { timeout: 300_000 }, () => {
  let corpus: CorpusEvent[];
  let stack: LocalStack;
  const answers = new Map<string, Answer | string>();

  beforeAll(async () => {
    corpus = loadCorpus();
    stack = await startLocalStack({ stateDirPrefix: 'sbg-corpus-', readyTimeoutMs: 150_000 });
    for (const c of corpus) {
      const payload = c.body.toString('utf8');
      const res = await fetch(`${stack.base}/webhook`, {
        method: 'POST',
        body: c.body,
        headers: {
          'content-type': 'application/json',
          'stripe-signature': signatureHeader(payload, DEFAULTS.localWebhookSecret),
        },
      });
      answers.set(c.file, answerOf(res.status, await res.text()));
    }
    // Every queued event applied (or parked): the queues drained.
    await eventually(
      async () => {
        const depths = await Promise.all(
          stack.state.queues.map((q) => queueDepth(stack.sqs, q.queueUrl)),
        );
        return depths.every((d) => d === 0);
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'the processor queues to drain' },
    );
  }, 280_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('holds all three sources, and the files that share an event id now have their own', () => {
    const dirs = new Set(corpus.map((c) => c.file.split('/')[0]));
    const ids = corpus.map((c) => c.event.id);

    expect([...dirs].sort()).toEqual(['current', 'pay', 'sync-engine']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('marks exactly the handled fixtures whose ids were shortened by hand', () => {
    const shortened = corpus
      .filter((c) => registryEntry(c.event.type) && hasMangledId(c.event))
      .map((c) => c.file);

    expect(shortened.sort()).toEqual(Object.keys(SHORTENED_BY_HAND).sort());
  });

  it('answers each event as its type says: handled queued, others ignored, mangled ids as the table says', () => {
    const got = corpus.map((c) => [c.file, answers.get(c.file)]);

    expect(got).toEqual(corpus.map((c) => [c.file, expectedAnswer(c)]));
    // Both kinds are there: the corpus exercises the processors, not only the verifier.
    expect(got.filter(([, a]) => a === 'queued').length).toBeGreaterThan(35);
    expect(got.filter(([, a]) => a === 'ignored').length).toBeGreaterThan(40);
  });

  it('dead-letters none of them', async () => {
    const depths = await Promise.all(
      stack.state.queues.map((q) => queueDepth(stack.sqs, q.dlqUrl)),
    );

    expect(depths.every((d) => d === 0)).toBe(true);
  });

  it('parks the disputes whose charge no corpus event reveals', async () => {
    const parked = (await stack.store.listParked()).map((p) => p.eventId);

    expect(parked).toEqual(
      expect.arrayContaining([
        'evt_3KtQThJDPojXS6LN0E06aNxq_charge_dispute_created',
        'evt_3KtQThJDPojXS6LN0E06aNxq_charge_dispute_updated',
        'evt_3KtQThJDPojXS6LN0E06aNxq_charge_dispute_closed',
        'evt_3RWXidQ8iJWBZFaM0N9UpCe2',
      ]),
    );
  });

  it('gives every customer the corpus names the status the rules say', async () => {
    const named = [...new Set(corpus.flatMap((c) => customersNamed(c.event)))].filter((c) =>
      CUSTOMER_ID.test(c),
    );
    const applied = corpus.filter((c) => answers.get(c.file) === 'queued').map((c) => c.event);

    const got: [string, Expected | null][] = [];
    for (const customerId of named.sort()) {
      const res = await fetch(`${stack.base}/customers/${customerId}/billing-status`);
      got.push([
        customerId,
        res.status === 404 ? null : rulesPart((await res.json()) as BillingStatus),
      ]);
    }

    expect(named.length).toBeGreaterThan(25);
    expect(got).toEqual(named.map((c) => [c, expectedStatus(applied, c)]));
  });

  it('refuses to read a customer id shortened by hand', async () => {
    const shortened = [...new Set(corpus.flatMap((c) => customersNamed(c.event)))].filter(
      (c) => !CUSTOMER_ID.test(c),
    );

    const codes = await Promise.all(
      shortened.map(
        async (c) => (await fetch(`${stack.base}/customers/${c}/billing-status`)).status,
      ),
    );

    expect(shortened.sort()).toEqual(['cus_Mt3...', 'cus_Mtyj...']);
    expect(codes).toEqual([400, 400]);
  });
});
