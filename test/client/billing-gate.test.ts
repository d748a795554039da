// The client's options, one by one, against a stubbed DynamoDB `send`: no DynamoDB semantics
// are under test here (test/e2e/client.test.ts reads a real table). Status items are built
// with the functions' own encoders from realistic Stripe events.
import {
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_EXPIRY_WARNING_DAYS,
  GateTimeoutError,
  makeBillingGate,
  type BillingGateLogger,
  type BillingGateOptions,
} from '../../client/src/billing-gate';
import { createBillingGate } from '../../client/src/index';
import {
  STATUS_ITEM_FORMAT,
  UnknownStatusFormatError,
  encodeCommit,
  encodeOverride,
  encodeState,
  type Item,
} from '../../lambdas/adapters/status-item';
import { STATUS_ATTR } from '../../lambdas/adapters/table-layout';
import { DEFAULTS } from '../../lambdas/config';
import { expiryInstant, statusFromRecord } from '../../lambdas/core/billing-status';
import { RULES_VERSION, type StatusRecord } from '../../lambdas/core/status-record';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { applied, foldedRecord } from '../support/derive';

const TABLE = 'billing-gate-table';
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const nowSeconds = (ms: number) => Math.floor(ms / 1000);

function recordOf(customer: string, types: string[], created = nowSeconds(NOW_MS) - 3600) {
  const facts = types.map((type, i) =>
    applied(buildEvent(type, { customer, created: created + i }), customer),
  );
  const record = foldedRecord(facts, []);
  if (!record) throw new Error('no record');
  return record;
}

/** The item the processors write for `record`, in `format`. */
function itemOf(customer: string, record: StatusRecord, format = STATUS_ITEM_FORMAT): Item {
  const item: Item = {
    pk: { S: `STATUS#${customer}` },
    sk: { S: 'STATUS' },
    [STATUS_ATTR.format]: { N: String(format) },
    [STATUS_ATTR.rulesVersion]: { N: String(RULES_VERSION) },
    [STATUS_ATTR.version]: { N: '1' },
    [STATUS_ATTR.canAllocate]: { BOOL: statusFromRecord(customer, record, 0, 0).canAllocate },
    [STATUS_ATTR.state]: { S: encodeState(record) },
  };
  if (record.override) item[STATUS_ATTR.override] = { S: encodeOverride(record.override) };
  if (record.lastCommit) item[STATUS_ATTR.lastCommit] = { S: encodeCommit(record.lastCommit) };
  return item;
}

/** A DynamoDB client whose `send` answers from `items` (by customer), or as `answer` says. */
function stubClient(
  answer: (customer: string, input: GetItemCommand['input']) => Promise<Item | undefined>,
) {
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const send = vi.spyOn(client, 'send').mockImplementation((async (command: unknown) => {
    if (!(command instanceof GetItemCommand)) throw new Error('only GetItem is expected');
    const customer = command.input.Key!.pk!.S!.replace(/^STATUS#/, '');
    const Item = await answer(customer, command.input);
    return { Item, $metadata: {} } satisfies GetItemCommandOutput;
  }) as never);
  return { client, send };
}

const tableOf = (items: Map<string, Item>) => stubClient(async (customer) => items.get(customer));

function recordingLogger() {
  const lines: { level: 'warn' | 'error'; message: string; details?: Record<string, unknown> }[] =
    [];
  const logger: BillingGateLogger = {
    warn: (message, details) => lines.push({ level: 'warn', message, details }),
    error: (message, details) => lines.push({ level: 'error', message, details }),
  };
  return { logger, lines };
}

function gateWith(
  client: DynamoDBClient,
  options: Partial<BillingGateOptions> = {},
  clock = { ms: NOW_MS },
  maxCacheEntries = 1000,
) {
  const { logger, lines } = recordingLogger();
  const gate = makeBillingGate(
    { tableName: TABLE, client, logger, ...options },
    { now: () => clock.ms, maxCacheEntries },
  );
  return { gate, lines, clock };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a check read from the table', () => {
  it('reads the status item with one GetItem and derives the status API JSON from it', async () => {
    // Prepare
    const customer = stripeId('cus');
    const record = recordOf(customer, ['payment_method.attached', 'invoice.payment_failed']);
    const { client, send } = tableOf(new Map([[customer, itemOf(customer, record)]]));
    const { gate } = gateWith(client);

    // Act
    const r = await gate.check(customer);

    // Assess
    expect(send).toHaveBeenCalledTimes(1);
    const input = (send.mock.calls[0]![0] as GetItemCommand).input;
    expect(input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: `STATUS#${customer}` }, sk: { S: 'STATUS' } },
      ConsistentRead: false,
    });
    expect(r.source).toBe('table');
    expect(r.canAllocate).toBe(false);
    expect(r.status).toEqual(statusFromRecord(customer, record, nowSeconds(NOW_MS), 30));
    expect(r.status?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
    expect(r.status?.paymentMethods).toHaveLength(1);
  });

  it('answers canAllocate true for a customer in good standing', async () => {
    const customer = stripeId('cus');
    const record = recordOf(customer, ['payment_method.attached', 'invoice.paid']);
    const { client } = tableOf(new Map([[customer, itemOf(customer, record)]]));

    const r = await gateWith(client).gate.check(customer);

    expect(r).toMatchObject({ canAllocate: true, source: 'table' });
    expect(r.status?.blockers).toEqual([]);
  });

  it("follows an operator's allow override over the blockers, which stay listed", async () => {
    const customer = stripeId('cus');
    const blocked = recordOf(customer, ['invoice.payment_failed']);
    const record: StatusRecord = {
      ...blocked,
      override: {
        id: 'ovr_1',
        mode: 'allow',
        reason: 'paid by wire',
        setAt: new Date(NOW_MS).toISOString(),
      },
    };
    const { client } = tableOf(new Map([[customer, itemOf(customer, record)]]));

    const r = await gateWith(client).gate.check(customer);

    expect(r.canAllocate).toBe(true);
    expect(r.status?.override).toMatchObject({ mode: 'allow', reason: 'paid by wire' });
    expect(r.status?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
  });

  it('passes consistentRead: true through to GetItem', async () => {
    const customer = stripeId('cus');
    const { client, send } = tableOf(new Map());

    await gateWith(client, { consistentRead: true }).gate.check(customer);

    expect((send.mock.calls[0]![0] as GetItemCommand).input.ConsistentRead).toBe(true);
  });
});

describe('unknownCustomer', () => {
  it('allows a customer without a status item by default, with a null status', async () => {
    const { client, send } = tableOf(new Map());

    const r = await gateWith(client).gate.check(stripeId('cus'));

    expect(send).toHaveBeenCalledTimes(1);
    expect(r).toEqual({ canAllocate: true, status: null, source: 'table' });
  });

  it("denies such a customer with 'deny'", async () => {
    const { client } = tableOf(new Map());

    const r = await gateWith(client, { unknownCustomer: 'deny' }).gate.check(stripeId('cus'));

    expect(r).toEqual({ canAllocate: false, status: null, source: 'table' });
  });

  it('never applies to a known customer', async () => {
    const customer = stripeId('cus');
    const record = recordOf(customer, ['invoice.paid']);
    const { client } = tableOf(new Map([[customer, itemOf(customer, record)]]));

    const r = await gateWith(client, { unknownCustomer: 'deny' }).gate.check(customer);

    expect(r.canAllocate).toBe(true);
  });
});

describe('cacheSeconds', () => {
  it('reads the table on every check by default', async () => {
    const customer = stripeId('cus');
    const { client, send } = tableOf(new Map());
    const { gate } = gateWith(client);

    const sources = [(await gate.check(customer)).source, (await gate.check(customer)).source];

    expect(sources).toEqual(['table', 'table']);
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('reuses an answer younger than cacheSeconds and reads again once it is that old', async () => {
    // Prepare: the customer is blocked, then pays while the answer is cached.
    const customer = stripeId('cus');
    const items = new Map([
      [customer, itemOf(customer, recordOf(customer, ['invoice.payment_failed']))],
    ]);
    const { client, send } = tableOf(items);
    const { gate, clock } = gateWith(client, { cacheSeconds: 60 });
    const first = await gate.check(customer);
    items.set(customer, itemOf(customer, recordOf(customer, ['invoice.paid'])));

    // Act
    clock.ms += 59_999;
    const cached = await gate.check(customer);
    clock.ms += 1;
    const fresh = await gate.check(customer);

    // Assess
    expect(first).toMatchObject({ canAllocate: false, source: 'table' });
    expect(cached).toMatchObject({ canAllocate: false, source: 'cache' });
    expect(cached.status).toEqual(first.status);
    expect(fresh).toMatchObject({ canAllocate: true, source: 'table' });
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('caches an unknown customer too, per unknownCustomer', async () => {
    const customer = stripeId('cus');
    const { client, send } = tableOf(new Map());
    const { gate } = gateWith(client, { cacheSeconds: 30, unknownCustomer: 'deny' });

    await gate.check(customer);
    const again = await gate.check(customer);

    expect(again).toEqual({ canAllocate: false, status: null, source: 'cache' });
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('keeps answers per customer', async () => {
    const [a, b] = [stripeId('cus'), stripeId('cus')];
    const items = new Map([[a, itemOf(a, recordOf(a, ['invoice.payment_failed']))]]);
    const { client, send } = tableOf(items);
    const { gate } = gateWith(client, { cacheSeconds: 60 });

    await gate.check(a);
    const other = await gate.check(b);

    expect(other).toEqual({ canAllocate: true, status: null, source: 'table' });
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('lets concurrent checks of one customer share one read while caching', async () => {
    const customer = stripeId('cus');
    const { client, send } = tableOf(new Map());
    const { gate } = gateWith(client, { cacheSeconds: 5 });

    const answers = await Promise.all([
      gate.check(customer),
      gate.check(customer),
      gate.check(customer),
    ]);

    expect(send).toHaveBeenCalledTimes(1);
    expect(answers.map((a) => a.source)).toEqual(['table', 'table', 'table']);
  });

  it('prefers a cached answer to the onError policy while it is young enough', async () => {
    // Prepare: one good read, then the table fails.
    const customer = stripeId('cus');
    const record = recordOf(customer, ['invoice.payment_failed']);
    let down = false;
    const { client } = stubClient(async () => {
      if (down) throw new Error('service unavailable');
      return itemOf(customer, record);
    });
    const { gate, clock, lines } = gateWith(client, { cacheSeconds: 10, onError: 'allow' });
    await gate.check(customer);
    down = true;

    // Act
    clock.ms += 9_000;
    const young = await gate.check(customer);
    clock.ms += 1_000;
    const expired = await gate.check(customer);

    // Assess
    expect(young).toMatchObject({ canAllocate: false, source: 'cache' });
    expect(expired).toEqual({ canAllocate: true, status: null, source: 'error' });
    expect(lines).toHaveLength(1);
  });

  it('never caches a failed read', async () => {
    const customer = stripeId('cus');
    let calls = 0;
    const { client } = stubClient(async () => {
      calls += 1;
      if (calls === 1) throw new Error('throttled');
      return undefined;
    });
    const { gate } = gateWith(client, { cacheSeconds: 60 });

    const failed = await gate.check(customer);
    const next = await gate.check(customer);

    expect(failed.source).toBe('error');
    expect(next.source).toBe('table');
  });

  it('keeps at most its bound of customers, dropping the oldest read first', async () => {
    const [a, b, c] = [stripeId('cus'), stripeId('cus'), stripeId('cus')];
    const { client, send } = tableOf(new Map());
    const { gate, clock } = gateWith(client, { cacheSeconds: 60 }, { ms: NOW_MS }, 2);

    await gate.check(a);
    clock.ms += 1;
    await gate.check(b);
    clock.ms += 1;
    await gate.check(c);
    const sources = [(await gate.check(c)).source, (await gate.check(b)).source];
    const evicted = await gate.check(a);

    expect(sources).toEqual(['cache', 'cache']);
    expect(evicted.source).toBe('table');
    expect(send).toHaveBeenCalledTimes(4);
  });
});

describe('onError', () => {
  it('allows by default when the read fails, logs the failure and reports it', async () => {
    // Prepare
    const customer = stripeId('cus');
    const failure = Object.assign(new Error('Rate exceeded'), {
      name: 'ProvisionedThroughputExceededException',
    });
    const { client } = stubClient(async () => {
      throw failure;
    });
    const observed: [Error, string][] = [];
    const { gate, lines } = gateWith(client, { onErrorObserved: (e, c) => observed.push([e, c]) });

    // Act
    const r = await gate.check(customer);

    // Assess
    expect(r).toEqual({ canAllocate: true, status: null, source: 'error' });
    expect(observed).toEqual([[failure, customer]]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      details: { customerId: customer, onError: 'allow' },
    });
    expect(lines[0]!.message).toContain('answered per onError (allow)');
    expect(String(lines[0]!.details?.error)).toContain(
      'ProvisionedThroughputExceededException: Rate exceeded',
    );
  });

  it("denies with 'deny'", async () => {
    const { client } = stubClient(async () => {
      throw new Error('AccessDeniedException');
    });
    const { gate, lines } = gateWith(client, { onError: 'deny' });

    const r = await gate.check(stripeId('cus'));

    expect(r).toEqual({ canAllocate: false, status: null, source: 'error' });
    expect(lines[0]!.message).toContain('answered per onError (deny)');
  });

  it('logs to console when no logger is given', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { client } = stubClient(async () => {
      throw new Error('network down');
    });
    const gate = createBillingGate({ tableName: TABLE, client });

    const r = await gate.check(stripeId('cus'));

    expect(r.source).toBe('error');
    expect(printed).toHaveBeenCalledTimes(1);
    expect(String(printed.mock.calls[0]![0])).toContain('could not read the billing status');
  });

  it('still answers when onErrorObserved throws, and says so', async () => {
    const { client } = stubClient(async () => {
      throw new Error('network down');
    });
    const { gate, lines } = gateWith(client, {
      onErrorObserved: () => {
        throw new Error('metrics sink down');
      },
    });

    const r = await gate.check(stripeId('cus'));

    expect(r).toEqual({ canAllocate: true, status: null, source: 'error' });
    expect(lines.map((l) => l.level)).toEqual(['error', 'warn']);
    expect(lines[1]!.message).toContain('onErrorObserved threw');
  });

  it('answers per onError when the table does not answer within timeoutMs, and aborts the read', async () => {
    // Prepare: a read that never answers unless aborted.
    const customer = stripeId('cus');
    const client = new DynamoDBClient({ region: 'us-east-1' });
    let signal: AbortSignal | undefined;
    vi.spyOn(client, 'send').mockImplementation(((
      _command: unknown,
      options?: { abortSignal?: AbortSignal },
    ) => {
      signal = options?.abortSignal;
      return new Promise(() => {});
    }) as never);
    const observed: Error[] = [];
    const { gate } = gateWith(client, {
      timeoutMs: 20,
      onError: 'deny',
      onErrorObserved: (e) => observed.push(e),
    });

    // Act
    const r = await gate.check(customer);

    // Assess
    expect(r).toEqual({ canAllocate: false, status: null, source: 'error' });
    expect(observed[0]).toBeInstanceOf(GateTimeoutError);
    expect(signal?.aborted).toBe(true);
  });
});

describe('a status item in a format the client does not know', () => {
  it('is answered per onError, reported every time and logged once', async () => {
    // Prepare: a newer stack wrote format STATUS_ITEM_FORMAT + 1 for every customer.
    const customers = [stripeId('cus'), stripeId('cus'), stripeId('cus')];
    const items = new Map(
      customers.map((c) => [c, itemOf(c, recordOf(c, ['invoice.paid']), STATUS_ITEM_FORMAT + 1)]),
    );
    const { client } = tableOf(items);
    const observed: Error[] = [];
    const { gate, lines } = gateWith(client, {
      onError: 'deny',
      onErrorObserved: (e) => observed.push(e),
    });

    // Act
    const answers = [];
    for (const c of [...customers, customers[0]!]) answers.push(await gate.check(c));

    // Assess
    expect(
      answers.every((a) => a.canAllocate === false && a.source === 'error' && a.status === null),
    ).toBe(true);
    expect(observed).toHaveLength(4);
    expect(observed.every((e) => e instanceof UnknownStatusFormatError)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).toContain(
      `format ${STATUS_ITEM_FORMAT + 1}, newer than this client reads`,
    );
    expect(lines[0]!.message).toContain('upgrade stripe-billing-gate-client');
  });

  it('with the default onError, allows', async () => {
    const customer = stripeId('cus');
    const item = itemOf(
      customer,
      recordOf(customer, ['invoice.payment_failed']),
      STATUS_ITEM_FORMAT + 1,
    );
    const { client } = tableOf(new Map([[customer, item]]));

    const r = await gateWith(client).gate.check(customer);

    expect(r).toEqual({ canAllocate: true, status: null, source: 'error' });
  });
});

describe('customer ids', () => {
  it.each([
    [''],
    ['cus_'],
    ['cus_abc-1'],
    ['cus_abc 1'],
    ['CUS_abc1'],
    ['acct_1Abc'],
    [' cus_abc1'],
    ['cus_abc1\n'],
    ['cus_abc1#STATUS'],
  ])('refuses %j with a TypeError before reading anything', async (id) => {
    const { client, send } = tableOf(new Map());

    await expect(gateWith(client).gate.check(id)).rejects.toThrow(TypeError);
    expect(send).not.toHaveBeenCalled();
  });

  it('refuses a value that is not a string', async () => {
    const { client } = tableOf(new Map());

    await expect(gateWith(client).gate.check(42 as unknown as string)).rejects.toThrow(
      /"cus_" followed by letters and digits/,
    );
  });
});

describe('expiryWarningDays', () => {
  // The fixture's card expires at the end of August 2030; read 40 days before that.
  const readAt = (expiryInstant(8, 2030)! - 40 * 86_400) * 1000;

  it('defaults to the stack default of 30 days', () => {
    expect(DEFAULT_EXPIRY_WARNING_DAYS).toBe(DEFAULTS.expiryWarningDays);
  });

  it('changes the warnings and the method status, never canAllocate', async () => {
    // Prepare
    const customer = stripeId('cus');
    const record = recordOf(
      customer,
      ['payment_method.attached', 'invoice.payment_failed'],
      nowSeconds(NOW_MS),
    );
    const { client } = tableOf(new Map([[customer, itemOf(customer, record)]]));

    // Act
    const byDefault = await gateWith(client, {}, { ms: readAt }).gate.check(customer);
    const wider = await gateWith(client, { expiryWarningDays: 60 }, { ms: readAt }).gate.check(
      customer,
    );

    // Assess
    expect(byDefault.status?.paymentMethods.map((m) => m.status)).toEqual(['active']);
    expect(byDefault.status?.warnings.map((w) => w.reason)).not.toContain(
      'payment_method_expiring',
    );
    expect(wider.status?.paymentMethods.map((m) => m.status)).toEqual(['expiring']);
    expect(wider.status?.warnings.map((w) => w.reason)).toContain('payment_method_expiring');
    expect(wider.status).toEqual(statusFromRecord(customer, record, nowSeconds(readAt), 60));
    expect([byDefault.canAllocate, wider.canAllocate]).toEqual([false, false]);
  });
});

describe('options', () => {
  const client = new DynamoDBClient({ region: 'us-east-1' });

  it.each([
    [{ tableName: '' }, /tableName is required/],
    [{ tableName: TABLE, onError: 'Allow' }, /onError must be "allow" or "deny"/],
    [{ tableName: TABLE, unknownCustomer: 'block' }, /unknownCustomer must be "allow" or "deny"/],
    [{ tableName: TABLE, cacheSeconds: -1 }, /cacheSeconds must be/],
    [{ tableName: TABLE, cacheSeconds: Number.NaN }, /cacheSeconds must be/],
    [{ tableName: TABLE, expiryWarningDays: '30' }, /expiryWarningDays must be/],
    [{ tableName: TABLE, timeoutMs: Number.POSITIVE_INFINITY }, /timeoutMs must be/],
    [{ tableName: TABLE, timeoutMs: 0 }, /timeoutMs must be a finite number of at least 1/],
  ])('refuses %j at creation with a TypeError', (options, message) => {
    expect(() =>
      createBillingGate({ client, ...(options as unknown as BillingGateOptions) }),
    ).toThrow(TypeError);
    expect(() =>
      createBillingGate({ client, ...(options as unknown as BillingGateOptions) }),
    ).toThrow(message);
  });
});
