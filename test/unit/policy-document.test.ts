// The policy document (docs/behaviour.md#the-policy-document): durations, every validation
// message (each naming its entry), the defaults per reason, and the canonical document the
// functions are configured with. Direct calls of lambdas/core/policy.ts, no derivation.
import { describe, expect, it } from 'vitest';
import {
  BLOCKING_REASONS,
  CONDITION_REASONS,
  DEFAULT_POLICY,
  MAX_GRACE_SECONDS,
  PolicyError,
  WARNING_REASONS,
  parseDuration,
  parsePolicy,
  parsePolicyJson,
  policyDocument,
  type ConditionReason,
} from '../../lambdas/core/policy';

const DAY = 86_400;

/** The PolicyError a document gives (fails when it is accepted). */
function errorOf(run: () => unknown): PolicyError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return err as PolicyError;
  }
  throw new Error('the document was accepted');
}

const problemsOf = (document: unknown) => errorOf(() => parsePolicy(document)).problems;

const ALL_REASONS =
  'payment_failed, invoice_uncollectible, invoice_overdue, dispute_open, subscription_past_due, subscription_unpaid, subscription_paused, customer_deleted, payment_action_required, payment_method_expiring, no_valid_payment_method';

const GRACE_TEXT =
  'grace must be a number of seconds or digits followed by s, m, h or d (e.g. "7d"), at most 90 days; got';

describe('parseDuration', () => {
  it('gives the 90-day maximum in seconds', () => {
    expect(MAX_GRACE_SECONDS).toBe(7_776_000);
  });

  it.each([
    [0, 0],
    [1, 1],
    [90, 90],
    [3_600, 3_600],
    [MAX_GRACE_SECONDS - 1, MAX_GRACE_SECONDS - 1],
    [MAX_GRACE_SECONDS, MAX_GRACE_SECONDS],
    ['0s', 0],
    ['1s', 1],
    ['90s', 90],
    ['1m', 60],
    ['30m', 1_800],
    ['1h', 3_600],
    ['72h', 259_200],
    ['1d', DAY],
    ['7d', 7 * DAY],
    ['90d', MAX_GRACE_SECONDS],
    ['2160h', MAX_GRACE_SECONDS],
    ['129600m', MAX_GRACE_SECONDS],
    ['7776000s', MAX_GRACE_SECONDS],
    ['007d', 7 * DAY],
  ])('reads %j as %d seconds (at most 90 days)', (value, seconds) => {
    expect(parseDuration(value, MAX_GRACE_SECONDS)).toBe(seconds);
  });

  it.each([
    MAX_GRACE_SECONDS + 1,
    '7776001s',
    '91d',
    '2161h',
    '129601m',
    -1,
    -DAY,
    '-1s',
    '-7d',
    1.5,
    0.5,
    '1.5h',
    '7.0d',
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    ' ',
    '7',
    '90',
    'd',
    's',
    '7w',
    '7D',
    '7S',
    '7M',
    '7H',
    ' 7d',
    '7d ',
    '7 d',
    'x7d',
    '7dx',
    '7dd',
    '+7d',
    '1e3s',
    '0x10s',
    null,
    undefined,
    true,
    false,
    {},
    [],
    [7],
    { seconds: 7 },
  ])('refuses %j', (value) => {
    expect(parseDuration(value, MAX_GRACE_SECONDS)).toBeNull();
  });

  it('holds every duration to the maximum it is given, inclusive', () => {
    expect(parseDuration(10, 10)).toBe(10);
    expect(parseDuration(11, 10)).toBeNull();
    expect(parseDuration('10s', 10)).toBe(10);
    expect(parseDuration('11s', 10)).toBeNull();
    expect(parseDuration('1m', 60)).toBe(60);
    expect(parseDuration('1m', 59)).toBeNull();
    expect(parseDuration('1h', 3_599)).toBeNull();
    expect(parseDuration('1d', DAY - 1)).toBeNull();
    expect(parseDuration(0, 0)).toBe(0);
    expect(parseDuration('0d', 0)).toBe(0);
    expect(parseDuration(1, 0)).toBeNull();
  });

  it('takes up to nine digits before a unit, and only safe whole numbers', () => {
    const unbounded = Number.POSITIVE_INFINITY;
    expect(parseDuration('123456789s', unbounded)).toBe(123_456_789);
    expect(parseDuration('999999999d', unbounded)).toBe(999_999_999 * DAY);
    expect(parseDuration('1234567890s', unbounded)).toBeNull();
    expect(parseDuration(Number.MAX_SAFE_INTEGER, unbounded)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseDuration(Number.MAX_SAFE_INTEGER + 1, unbounded)).toBeNull();
  });
});

describe('DEFAULT_POLICY', () => {
  const table: [ConditionReason, 'block' | 'warn'][] = [
    ['payment_failed', 'block'],
    ['invoice_uncollectible', 'block'],
    ['invoice_overdue', 'block'],
    ['dispute_open', 'block'],
    ['subscription_past_due', 'block'],
    ['subscription_unpaid', 'block'],
    ['subscription_paused', 'block'],
    ['customer_deleted', 'block'],
    ['payment_action_required', 'warn'],
    ['payment_method_expiring', 'warn'],
    ['no_valid_payment_method', 'warn'],
  ];

  it.each(table)('%s defaults to %s, with no grace and no whileRetrying', (reason, action) => {
    expect(DEFAULT_POLICY[reason]).toStrictEqual({ action, grace: null, whileRetrying: false });
  });

  it('covers exactly the configurable reasons, in the documented order', () => {
    expect(Object.keys(DEFAULT_POLICY)).toEqual(table.map(([r]) => r));
    expect([...CONDITION_REASONS]).toEqual(table.map(([r]) => r));
    expect([...BLOCKING_REASONS]).toEqual(table.filter(([, a]) => a === 'block').map(([r]) => r));
    expect([...WARNING_REASONS]).toEqual(table.filter(([, a]) => a === 'warn').map(([r]) => r));
    expect(CONDITION_REASONS).not.toContain('operator_deny');
  });

  it('is the policy of no document, and of an empty one', () => {
    expect(parsePolicy(undefined)).toBe(DEFAULT_POLICY);
    expect(parsePolicy(null)).toBe(DEFAULT_POLICY);
    expect(parsePolicy({})).toStrictEqual(DEFAULT_POLICY);
    expect(parsePolicyJson('null')).toBe(DEFAULT_POLICY);
    expect(parsePolicyJson('{}')).toStrictEqual(DEFAULT_POLICY);
  });
});

describe('parsePolicy: accepted documents', () => {
  it('normalises the documented example; absent reasons keep their default', () => {
    const policy = parsePolicy({
      payment_failed: { action: 'block', grace: '7d', whileRetrying: true },
      subscription_past_due: { action: 'warn' },
      no_valid_payment_method: { action: 'block', grace: '3d' },
      payment_method_expiring: { action: 'ignore' },
    });
    expect(policy).toStrictEqual({
      ...DEFAULT_POLICY,
      payment_failed: { action: 'block', grace: 7 * DAY, whileRetrying: true },
      subscription_past_due: { action: 'warn', grace: null, whileRetrying: false },
      no_valid_payment_method: { action: 'block', grace: 3 * DAY, whileRetrying: false },
      payment_method_expiring: { action: 'ignore', grace: null, whileRetrying: false },
    });
    expect(Object.keys(policy)).toHaveLength(CONDITION_REASONS.length);
    // The defaults themselves are never changed by a document.
    expect(DEFAULT_POLICY.payment_failed).toStrictEqual({
      action: 'block',
      grace: null,
      whileRetrying: false,
    });
    expect(DEFAULT_POLICY.payment_method_expiring.action).toBe('warn');
  });

  it.each(['block', 'warn', 'ignore'] as const)('takes action %s on any reason', (action) => {
    for (const reason of CONDITION_REASONS) {
      expect(parsePolicy({ [reason]: { action } })[reason]).toStrictEqual({
        action,
        grace: null,
        whileRetrying: false,
      });
    }
  });

  it.each([
    [0, 0],
    [60, 60],
    ['90s', 90],
    ['30m', 1_800],
    ['72h', 259_200],
    ['7d', 7 * DAY],
    [MAX_GRACE_SECONDS, MAX_GRACE_SECONDS],
    ['90d', MAX_GRACE_SECONDS],
  ])('takes grace %j with block as %d seconds', (grace, seconds) => {
    expect(parsePolicy({ dispute_open: { action: 'block', grace } }).dispute_open).toStrictEqual({
      action: 'block',
      grace: seconds,
      whileRetrying: false,
    });
  });

  it('takes whileRetrying true or false on payment_failed with block', () => {
    expect(
      parsePolicy({ payment_failed: { action: 'block', whileRetrying: true } }).payment_failed,
    ).toStrictEqual({ action: 'block', grace: null, whileRetrying: true });
    expect(
      parsePolicy({ payment_failed: { action: 'block', whileRetrying: false } }).payment_failed,
    ).toStrictEqual({ action: 'block', grace: null, whileRetrying: false });
  });

  it('treats fields given as undefined (the typed prop) as absent', () => {
    expect(
      parsePolicy({
        payment_failed: { action: 'warn', grace: undefined, whileRetrying: undefined },
      }).payment_failed,
    ).toStrictEqual({ action: 'warn', grace: null, whileRetrying: false });
  });
});

describe('parsePolicy: refused documents name every entry at fault', () => {
  it.each([[[]], [['payment_failed']], ['block'], [''], [7], [0], [true], [false]])(
    'refuses a document that is not an object: %j',
    (document) => {
      const err = errorOf(() => parsePolicy(document));
      expect(err.problems).toEqual(['the policy must be a JSON object keyed by condition reason']);
      expect(err.message).toBe(
        'invalid policy: the policy must be a JSON object keyed by condition reason',
      );
      expect(err.name).toBe('PolicyError');
      expect(err).toBeInstanceOf(Error);
    },
  );

  it('refuses an unknown reason, listing the reasons it expects', () => {
    expect(problemsOf({ payment_failure: { action: 'block' } })).toEqual([
      `"payment_failure" is not a condition reason (expected one of ${ALL_REASONS})`,
    ]);
    expect(problemsOf({ '': { action: 'block' } })).toEqual([
      `"" is not a condition reason (expected one of ${ALL_REASONS})`,
    ]);
    expect(problemsOf({ PAYMENT_FAILED: { action: 'block' } })).toEqual([
      `"PAYMENT_FAILED" is not a condition reason (expected one of ${ALL_REASONS})`,
    ]);
  });

  it("refuses operator_deny: an operator's deny is not configurable", () => {
    expect(problemsOf({ operator_deny: { action: 'warn' } })).toEqual([
      `"operator_deny": an operator's deny always blocks and is not configurable`,
    ]);
  });

  it.each([[null], [[]], [[{ action: 'block' }]], ['block'], [1], [true]])(
    'refuses an entry that is not an object: %j',
    (entry) => {
      expect(problemsOf({ invoice_overdue: entry })).toEqual([
        '"invoice_overdue" must be an object such as {"action": "block"}',
      ]);
    },
  );

  it('refuses each unknown field, in order, beside an otherwise valid entry', () => {
    expect(problemsOf({ payment_failed: { action: 'block', graceDays: 7 } })).toEqual([
      '"payment_failed".graceDays is not a policy field (expected action, grace, whileRetrying)',
    ]);
    expect(problemsOf({ dispute_open: { action: 'block', Action: 'x', retry: true } })).toEqual([
      '"dispute_open".Action is not a policy field (expected action, grace, whileRetrying)',
      '"dispute_open".retry is not a policy field (expected action, grace, whileRetrying)',
    ]);
  });

  it.each([
    [undefined, 'got undefined'],
    [null, 'got null'],
    ['Block', 'got "Block"'],
    ['deny', 'got "deny"'],
    ['', 'got ""'],
    [1, 'got 1'],
    [true, 'got true'],
    [['block'], 'got ["block"]'],
  ])('refuses action %j', (action, got) => {
    const entry = action === undefined ? {} : { action };
    expect(problemsOf({ subscription_unpaid: entry })).toEqual([
      `"subscription_unpaid".action must be "block", "warn" or "ignore", ${got}`,
    ]);
  });

  it('reports nothing more of an entry whose action is invalid', () => {
    expect(
      problemsOf({ payment_failed: { action: 'nope', grace: '7w', whileRetrying: 'yes' } }),
    ).toEqual(['"payment_failed".action must be "block", "warn" or "ignore", got "nope"']);
  });

  it.each([
    ['7w', '"7w"'],
    ['91d', '"91d"'],
    [MAX_GRACE_SECONDS + 1, String(MAX_GRACE_SECONDS + 1)],
    ['7776001s', '"7776001s"'],
    [-1, '-1'],
    [1.5, '1.5'],
    ['', '""'],
    [' 7d', '" 7d"'],
    ['7D', '"7D"'],
    [null, 'null'],
    [true, 'true'],
    [{}, '{}'],
  ])('refuses grace %j', (grace, got) => {
    expect(problemsOf({ customer_deleted: { action: 'block', grace } })).toEqual([
      `"customer_deleted".${GRACE_TEXT} ${got}`,
    ]);
  });

  it.each(['warn', 'ignore'] as const)('refuses grace with action %s', (action) => {
    expect(problemsOf({ invoice_overdue: { action, grace: '1d' } })).toEqual([
      `"invoice_overdue".grace applies only with action "block" (action is "${action}")`,
    ]);
    expect(problemsOf({ invoice_overdue: { action, grace: 0 } })).toEqual([
      `"invoice_overdue".grace applies only with action "block" (action is "${action}")`,
    ]);
  });

  it('reports a bad grace with warn once, as a bad duration', () => {
    expect(problemsOf({ invoice_overdue: { action: 'warn', grace: '1w' } })).toEqual([
      `"invoice_overdue".${GRACE_TEXT} "1w"`,
    ]);
  });

  it.each([
    ['yes', '"yes"'],
    ['true', '"true"'],
    [1, '1'],
    [0, '0'],
    [null, 'null'],
    [{}, '{}'],
  ])('refuses whileRetrying %j', (value, got) => {
    expect(problemsOf({ payment_failed: { action: 'block', whileRetrying: value } })).toEqual([
      `"payment_failed".whileRetrying must be true or false, got ${got}`,
    ]);
    // The type is checked first, whatever the reason or action.
    expect(problemsOf({ dispute_open: { action: 'warn', whileRetrying: value } })).toEqual([
      `"dispute_open".whileRetrying must be true or false, got ${got}`,
    ]);
  });

  it.each(
    CONDITION_REASONS.filter((r) => r !== 'payment_failed').flatMap((r) => [
      [r, true],
      [r, false],
    ]),
  )('refuses whileRetrying on %s (%j)', (reason, value) => {
    expect(problemsOf({ [reason]: { action: 'block', whileRetrying: value } })).toEqual([
      `"${reason}".whileRetrying applies only to "payment_failed"`,
    ]);
  });

  it.each([
    ['warn', true],
    ['warn', false],
    ['ignore', true],
    ['ignore', false],
  ] as const)('refuses whileRetrying with action %s (%j)', (action, value) => {
    expect(problemsOf({ payment_failed: { action, whileRetrying: value } })).toEqual([
      `"payment_failed".whileRetrying applies only with action "block" (action is "${action}")`,
    ]);
  });

  it('reports every problem of every entry at once, in document order', () => {
    const err = errorOf(() =>
      parsePolicy({
        payment_failed: { action: 'warn', grace: '1d', whileRetrying: true },
        bogus: { action: 'block' },
        dispute_open: { action: 'block', extra: 1, grace: '1y' },
        subscription_paused: { action: 'block' },
        customer_deleted: 'block',
      }),
    );
    const problems = [
      '"payment_failed".grace applies only with action "block" (action is "warn")',
      '"payment_failed".whileRetrying applies only with action "block" (action is "warn")',
      `"bogus" is not a condition reason (expected one of ${ALL_REASONS})`,
      '"dispute_open".extra is not a policy field (expected action, grace, whileRetrying)',
      `"dispute_open".${GRACE_TEXT} "1y"`,
      '"customer_deleted" must be an object such as {"action": "block"}',
    ];
    expect(err.problems).toEqual(problems);
    expect(err.message).toBe(`invalid policy: ${problems.join('; ')}`);
  });

  it('names the entry in the message of a single problem', () => {
    expect(() => parsePolicy({ payment_failed: { action: 'block', grace: '2w' } })).toThrow(
      `invalid policy: "payment_failed".${GRACE_TEXT} "2w"`,
    );
  });
});

describe('parsePolicyJson', () => {
  it('reads a document given as JSON text', () => {
    const policy = parsePolicyJson(
      '{"payment_failed":{"action":"block","grace":"72h","whileRetrying":true}}',
    );
    expect(policy.payment_failed).toStrictEqual({
      action: 'block',
      grace: 259_200,
      whileRetrying: true,
    });
    expect(policy.dispute_open).toStrictEqual(DEFAULT_POLICY.dispute_open);
  });

  it.each(['{', '', 'payment_failed', "{'payment_failed': {}}", '{"a":1,}'])(
    'refuses text that is not JSON: %j',
    (text) => {
      let reason = '';
      try {
        JSON.parse(text);
      } catch (err) {
        reason = (err as Error).message;
      }
      expect(reason).not.toBe('');
      const err = errorOf(() => parsePolicyJson(text));
      expect(err.problems).toEqual([`the policy is not valid JSON (${reason})`]);
      expect(err.message).toBe(`invalid policy: the policy is not valid JSON (${reason})`);
    },
  );

  it('validates the parsed document like parsePolicy', () => {
    expect(errorOf(() => parsePolicyJson('[]')).problems).toEqual([
      'the policy must be a JSON object keyed by condition reason',
    ]);
    expect(errorOf(() => parsePolicyJson('"7d"')).problems).toEqual([
      'the policy must be a JSON object keyed by condition reason',
    ]);
    expect(errorOf(() => parsePolicyJson('{"operator_deny":{"action":"warn"}}')).problems).toEqual([
      `"operator_deny": an operator's deny always blocks and is not configurable`,
    ]);
  });
});

describe('policyDocument: the canonical document', () => {
  it('is empty for the defaults, and for a document restating them', () => {
    expect(policyDocument(DEFAULT_POLICY)).toStrictEqual({});
    expect(
      policyDocument(
        parsePolicy({
          payment_failed: { action: 'block', whileRetrying: false },
          payment_action_required: { action: 'warn' },
        }),
      ),
    ).toStrictEqual({});
  });

  it('holds only what differs, durations in seconds, in reason order', () => {
    const doc = policyDocument(
      parsePolicy({
        payment_method_expiring: { action: 'ignore' },
        no_valid_payment_method: { action: 'block', grace: '3d' },
        subscription_past_due: { action: 'warn' },
        payment_failed: { action: 'block', grace: '7d', whileRetrying: true },
      }),
    );
    expect(doc).toStrictEqual({
      payment_failed: { action: 'block', grace: 7 * DAY, whileRetrying: true },
      subscription_past_due: { action: 'warn' },
      payment_method_expiring: { action: 'ignore' },
      no_valid_payment_method: { action: 'block', grace: 3 * DAY },
    });
    expect(Object.keys(doc)).toEqual([
      'payment_failed',
      'subscription_past_due',
      'payment_method_expiring',
      'no_valid_payment_method',
    ]);
  });

  it('keeps an entry whose action is the default when grace or whileRetrying is set', () => {
    expect(
      policyDocument(parsePolicy({ invoice_overdue: { action: 'block', grace: 60 } })),
    ).toStrictEqual({ invoice_overdue: { action: 'block', grace: 60 } });
    expect(
      policyDocument(parsePolicy({ invoice_overdue: { action: 'block', grace: 0 } })),
    ).toStrictEqual({ invoice_overdue: { action: 'block', grace: 0 } });
    expect(
      policyDocument(parsePolicy({ payment_failed: { action: 'block', whileRetrying: true } })),
    ).toStrictEqual({ payment_failed: { action: 'block', whileRetrying: true } });
    expect(
      policyDocument(parsePolicy({ payment_action_required: { action: 'block' } })),
    ).toStrictEqual({ payment_action_required: { action: 'block' } });
  });

  it('reads back as the same policy', () => {
    const policy = parsePolicy({
      payment_failed: { action: 'block', grace: '90s', whileRetrying: true },
      dispute_open: { action: 'ignore' },
      payment_method_expiring: { action: 'block', grace: '30m' },
    });
    expect(parsePolicy(policyDocument(policy))).toStrictEqual(policy);
    expect(parsePolicyJson(JSON.stringify(policyDocument(policy)))).toStrictEqual(policy);
  });
});
