// The rights table of lib/access.ts against the code: every function's real handler runs
// against DynamoDB Local over a client that records each request on its way out (the item
// family of every key it names, the index, the attributes an update names), and every request
// must be one its rights allow, as IAM would judge it (a transaction per item, by its
// Put/Update; a batch per key). test/infra/iam-boundaries.test.ts checks that the stack
// grants exactly that table; together they catch a right the code needs and the stack lacks.

import {
  DeleteItemCommand,
  DynamoDBClient,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { storeOf } from '../../bin/ops/target';
import { buildEvent, stripeId, type EventOptions } from '../../bin/events/stripe-events';
import { createBillingGate } from '../../client/src/index';
import { FactStore } from '../../lambdas/adapters/fact-store';
import type { StripeLookup } from '../../lambdas/adapters/stripe-api';
import { LISTED_BOUND } from '../../lambdas/adapters/status-writer';
import { STATUS_ATTR, ownerKey, statusKey } from '../../lambdas/adapters/table-layout';
import { DEFAULT_POLICY } from '../../lambdas/core/policy';
import {
  REGISTRY,
  registryEntry,
  usesStripeApi,
  type ObjectKind,
} from '../../lambdas/core/registry';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { rebuildAll } from '../../lambdas/rebuild/rebuild-status';
import { DEFAULT_GATE_SETTINGS, gateSettings, storeOptions } from '../../lambdas/settings';
import { makeStatusApiHandler } from '../../lambdas/status-api/make-status-api';
import { makeSweeper } from '../../lambdas/sweeper/make-sweeper';
import {
  CLIENT_RIGHTS,
  FAMILIES,
  REBUILD_RIGHTS,
  STATUS_API_RIGHTS,
  SWEEPER_RIGHTS,
  processorRights,
  type Rights,
} from '../../lib/access';
import { statusApiUpdateAttributes } from '../../lib/store';
import { freshTable } from '../support/local-stack';
import { testLogger, testMetrics } from '../support/telemetry';

type Item = Record<string, AttributeValue>;
/** A request's input, as the SDK middleware sees it. */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One right a request needs: an action on a partition key or an index. */
interface Need {
  readonly action: string;
  /** The partition key, `index/<name>`, or `<table>` (a request on the whole table). */
  readonly target: string;
  /** UpdateItem: every attribute name the request names. */
  readonly attributes?: readonly string[];
  readonly returnValues?: string;
}

const pkOf = (item: Item | undefined) => item?.pk?.S ?? '<no pk>';

/** The attribute names an update names: placeholders' names and names written out. */
function attributesOf(input: {
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
}): string[] {
  const text = `${input.UpdateExpression ?? ''} ${input.ConditionExpression ?? ''}`;
  const literal = (text.replace(/[#:][A-Za-z0-9_]+/g, ' ').match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])
    .filter((w) => !/^(SET|ADD|REMOVE|DELETE|AND|OR|NOT|BETWEEN|IN)$/i.test(w))
    .filter(
      (w) =>
        !/^(attribute_exists|attribute_not_exists|if_not_exists|begins_with|size|list_append|attribute_type|contains)$/.test(
          w,
        ),
    );
  return [...new Set([...Object.values(input.ExpressionAttributeNames ?? {}), ...literal])];
}

/** What IAM authorises a request by: each item (key) of it, under its own action. */
function needsOf(command: string, input: Json): Need[] {
  const action = command.replace(/Command$/, '');
  switch (action) {
    case 'GetItem':
    case 'DeleteItem':
      return [{ action, target: pkOf(input.Key) }];
    case 'PutItem':
      return [{ action, target: pkOf(input.Item) }];
    case 'UpdateItem':
      return [
        {
          action,
          target: pkOf(input.Key),
          attributes: attributesOf(input),
          ...(input.ReturnValues ? { returnValues: input.ReturnValues as string } : {}),
        },
      ];
    case 'Query':
    case 'Scan': {
      if (input.IndexName) return [{ action, target: `index/${input.IndexName as string}` }];
      if (action === 'Scan') return [{ action, target: '<table>' }];
      const placeholder = /\bpk = (:[A-Za-z0-9_]+)/.exec(input.KeyConditionExpression ?? '')?.[1];
      const value = placeholder ? input.ExpressionAttributeValues?.[placeholder]?.S : undefined;
      return [{ action, target: value ?? '<table>' }];
    }
    case 'BatchGetItem':
      return Object.values(input.RequestItems as Record<string, { Keys: Item[] }>).flatMap((t) =>
        t.Keys.map((k) => ({ action, target: pkOf(k) })),
      );
    case 'BatchWriteItem':
      return Object.values(
        input.RequestItems as Record<
          string,
          { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]
        >,
      ).flatMap((requests) =>
        requests.map((r) => ({
          action,
          target: pkOf(r.PutRequest ? r.PutRequest.Item : r.DeleteRequest?.Key),
        })),
      );
    case 'TransactWriteItems':
      return (input.TransactItems as Json[]).flatMap((t) => {
        if (t.Put) return needsOf('PutItemCommand', t.Put);
        if (t.Update) return needsOf('UpdateItemCommand', t.Update);
        if (t.Delete) return needsOf('DeleteItemCommand', t.Delete);
        return [{ action: 'ConditionCheckItem', target: pkOf(t.ConditionCheck?.Key) }];
      });
    default:
      return [{ action, target: '<table>' }];
  }
}

const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** Whether `rights` allow `need`, as the statements lib/store.ts makes of them would. */
function allows(rights: Rights, need: Need): boolean {
  if (need.target.startsWith('index/')) {
    const index = need.target.slice('index/'.length);
    const indexes = rights.indexes?.[need.action as 'Query' | 'Scan'] as
      readonly string[] | undefined;
    return indexes?.includes(index) ?? false;
  }
  const families = rights.items[need.action as keyof Rights['items']] ?? [];
  if (!families.some((f) => glob(FAMILIES[f]).test(need.target))) return false;
  if (need.action === 'UpdateItem' && rights.overrideAttributesOnly) {
    const allowed = new Set(statusApiUpdateAttributes());
    if (!(need.attributes ?? []).every((a) => allowed.has(a))) return false;
    return ['NONE', 'UPDATED_OLD', 'UPDATED_NEW', undefined].includes(need.returnValues);
  }
  return true;
}

/** The `action family` (or `action index/<name>`) lines of the rights `needs` used. */
function used(rights: Rights, needs: readonly Need[]): string[] {
  const lines = new Set<string>();
  for (const need of needs) {
    if (need.target.startsWith('index/')) {
      lines.add(`${need.action} ${need.target}`);
      continue;
    }
    const families = rights.items[need.action as keyof Rights['items']] ?? [];
    const family = families.find((f) => glob(FAMILIES[f]).test(need.target));
    lines.add(`${need.action} ${family ? FAMILIES[family] : need.target}`);
  }
  return [...lines].sort();
}

/** Every right of a row, as `action family` lines. */
function granted(rights: Rights): string[] {
  return [
    ...Object.entries(rights.items).flatMap(([a, fs]) => fs.map((f) => `${a} ${FAMILIES[f]}`)),
    ...Object.entries(rights.indexes ?? {}).flatMap(([a, is]) => is.map((i) => `${a} index/${i}`)),
  ].sort();
}

/** A DynamoDB client for one function that records what each request needs into `needs`. */
function recordingClient(
  needs: Need[] = [],
  /** Runs before the request is sent: another writer's move, or an error DynamoDB would give. */
  before?: (command: string, input: Json) => Promise<Error | null>,
) {
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Json;
      needs.push(...needsOf(context.commandName ?? '', input));
      // Refused after it is recorded: IAM judges a request before DynamoDB sizes it.
      const refused = await before?.(context.commandName ?? '', input);
      if (refused) throw refused;
      return next(args);
    },
    { step: 'initialize', name: 'recordNeeds' },
  );
  return { ddb, needs };
}

const sqsEvent = (event: StripeEvent): SQSEvent => ({
  Records: [
    {
      messageId: `m-${event.id}`,
      receiptHandle: 'r',
      body: JSON.stringify(event),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:test',
      awsRegion: 'us-east-1',
    },
  ],
});

function apiRequest(method: string, path: string, body?: unknown, query?: Record<string, string>) {
  return {
    rawPath: path,
    rawQueryString: new URLSearchParams(query ?? {}).toString(),
    queryStringParameters: query,
    headers: {},
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      http: { method },
      authorizer: { iam: { userArn: 'arn:aws:iam::1:user/op' } },
    },
  } as unknown as APIGatewayProxyEventV2;
}

let tableName: string;
/** Per processor kind, and per other function: the requests its code made. */
const processorNeeds = new Map<ObjectKind, Need[]>();
const needsOfFunction: Record<'sweeper' | 'statusApi' | 'rebuild' | 'client', Need[]> = {
  sweeper: [],
  statusApi: [],
  rebuild: [],
  client: [],
};
/** Results the workload checks on the way, so a run that did nothing cannot pass. */
const outcomes: Record<string, unknown> = {};

beforeAll(async () => {
  ({ tableName } = await freshTable());
  const now = Date.now();
  const settings = DEFAULT_GATE_SETTINGS;

  // Customers: C (every type), its Accounts v2 id A, A2 only Stripe knows (the sweeper asks),
  // C2 with more failed payments than its item lists, C3 whose item DynamoDB refuses for size.
  const C = stripeId('cus');
  const A = stripeId('acct');
  const A2 = stripeId('acct');
  /** An object whose owner two processors record at once. */
  const R = stripeId('pm');
  const C2 = stripeId('cus');
  const C3 = stripeId('cus');
  const unknownCharge = stripeId('ch');
  const parkedPayment = stripeId('pi');

  const processorStripe: StripeLookup = {
    chargeCustomer: async () => undefined,
    paymentIntentInvoice: async () => null,
    accountCustomer: async () => undefined,
  };
  const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: inject('dynamoEndpoint') });
  const setOwner = (objectId: string, customerId: string) =>
    direct.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: ownerKey(objectId).pk }, sk: { S: ownerKey(objectId).sk } },
        UpdateExpression: 'SET #o = :c',
        ExpressionAttributeNames: { '#o': 'owner' },
        ExpressionAttributeValues: { ':c': { S: customerId } },
      }),
    );
  const tooLarge = () => {
    const err = new Error('Item size has exceeded the maximum allowed size');
    err.name = 'ValidationException';
    return err;
  };
  const handlers = new Map<string, ReturnType<typeof makeProcessorHandler>>();
  const processor = (type: string) => {
    const existing = handlers.get(type);
    if (existing) return existing;
    // Each kind's requests, whichever of its types' processors made them.
    const kind = registryEntry(type)!.kind;
    if (!processorNeeds.has(kind)) processorNeeds.set(kind, []);
    const { ddb } = recordingClient(processorNeeds.get(kind), async (command, input) => {
      if (command !== 'UpdateItemCommand') return null;
      const pk = input.Key?.pk?.S;
      const names = Object.values(input.ExpressionAttributeNames ?? {});
      if (pk === statusKey(C3).pk && !names.includes(STATUS_ATTR.oversize)) return tooLarge();
      // Another processor records the owner of R between this one's read and its update.
      if (pk === ownerKey(R).pk && input.ConditionExpression) await setOwner(R, C);
      return null;
    });
    const store = new FactStore(ddb, tableName, storeOptions(settings));
    const handler = makeProcessorHandler({
      eventType: type,
      store,
      stripe: usesStripeApi(type) ? processorStripe : null,
      markOversize: (customerId) => store.status.markOversize(customerId),
      clock: () => new Date(),
      logger: testLogger,
      metrics: testMetrics,
    });
    handlers.set(type, handler);
    return handler;
  };
  const apply = async (type: string, options: EventOptions) => {
    const event = buildEvent(type, options);
    return (await processor(type)(sqsEvent(event))).batchItemFailures.length;
  };

  // Events that wait for their owner: Accounts v2 ids no event named yet, a dispute of an
  // unknown charge, an invoice payment of an unknown PaymentIntent, a detach of an unknown method.
  for (const type of [
    'payment_intent.payment_failed',
    'invoice.payment_failed',
    'customer.subscription.created',
    'payment_method.attached',
  ]) {
    await apply(type, { customer: null, customerAccount: A });
  }
  await apply('payment_intent.payment_failed', { customer: null, customerAccount: A2 });
  await apply('charge.dispute.created', {
    object: { charge: unknownCharge, payment_intent: null },
  });
  await apply('invoice_payment.paid', { paymentIntentId: parkedPayment });
  await apply('payment_method.detached', {
    customer: null,
    paymentMethodId: stripeId('pm'),
    previousAttributes: {},
  });

  // Every type for C; then the events that reveal who waited: C's Accounts v2 id (a
  // customer.* event applies the parked events of other kinds), the parked PaymentIntent.
  let failures = 0;
  for (const { type } of REGISTRY) failures += await apply(type, { customer: C });
  failures += await apply('customer.updated', { customer: C, customerAccount: A });
  failures += await apply('payment_intent.payment_failed', {
    customer: C,
    paymentIntentId: parkedPayment,
  });
  failures += await apply('payment_method.attached', { customer: C, paymentMethodId: R });

  // More failed payments than the item lists: entries past the bound, then some close (by
  // successes of earlier moments, so the failures still count after the latest success).
  const payments = Array.from({ length: LISTED_BOUND.payment + 3 }, () => stripeId('pi'));
  for (const p of payments) {
    failures += await apply('payment_intent.payment_failed', { customer: C2, paymentIntentId: p });
  }
  for (const p of payments.slice(-2)) {
    failures += await apply('payment_intent.succeeded', {
      customer: C2,
      paymentIntentId: p,
      created: Math.floor(now / 1000) - 3600,
    });
  }
  // A redelivery: the fact is a duplicate, the status brought up to date.
  const again = buildEvent('invoice.payment_failed', { customer: C });
  await processor(again.type)(sqsEvent(again));
  await processor(again.type)(sqsEvent(again));
  outcomes.processorFailures = failures;
  // Refused for its size: the message fails and the item is marked.
  outcomes.oversizeFailures = await apply('invoice.payment_failed', { customer: C3 });

  // The status API: reads by cus_ and acct_ id, history, an expiring override (the sweeper
  // finds it due), one set on a new customer and cleared, the listings, and the oversize
  // customer answered from its facts.
  const apiClient = recordingClient(needsOfFunction.statusApi);
  const api = makeStatusApiHandler({
    store: new FactStore(apiClient.ddb, tableName, {
      ...storeOptions(settings),
      clearsClosedSlots: false,
    }),
    settings,
    clock: () => new Date(),
    logger: testLogger,
    trustActorHeader: false,
  });
  const newcomer = stripeId('cus');
  const statuses: number[] = [];
  for (const [method, path, body, query] of [
    ['GET', `/customers/${C}/billing-status`],
    ['GET', `/customers/${A}/billing-status`],
    ['GET', `/customers/${C}/events`],
    ['PUT', `/customers/${C}/override`, { mode: 'deny', reason: 'chargeback', expiresIn: '5d' }],
    ['PUT', `/customers/${newcomer}/override`, { mode: 'allow', reason: 'new contract' }],
    ['DELETE', `/customers/${newcomer}/override`],
    ['GET', '/customers', undefined, { state: 'blocked' }],
    ['GET', '/customers', undefined, { state: 'grace' }],
    ['GET', '/customers', undefined, { state: 'warned' }],
    ['GET', `/customers/${C3}/billing-status`],
  ] as [string, string, unknown?, Record<string, string>?][]) {
    statuses.push((await api(apiRequest(method, path, body, query))).statusCode ?? 0);
  }
  outcomes.api = statuses;

  // The sweeper, under new settings and a year on: the settings item, every item settled
  // anew, due items, parked events retried (A2's customer from Stripe: C2, past the bound,
  // while a processor records the same owner; the guest charge's dispute dropped, the unknown
  // method's detach left), the count behind the rules.
  const later = now + 400 * 86_400_000;
  const sweeperClient = recordingClient(needsOfFunction.sweeper, async (command, input) => {
    if (command === 'UpdateItemCommand' && input.Key?.pk?.S === ownerKey(A2).pk) {
      if (input.ConditionExpression) await setOwner(A2, C2);
    }
    return null;
  });
  const newSettings = gateSettings(DEFAULT_POLICY, 10);
  const sweep = makeSweeper({
    store: new FactStore(
      sweeperClient.ddb,
      tableName,
      storeOptions(newSettings, () => later),
    ),
    settings: newSettings,
    stripe: {
      chargeCustomer: async (id) => (id === unknownCharge ? null : undefined),
      paymentIntentInvoice: async () => null,
      accountCustomer: async (id) => (id === A2 ? C2 : undefined),
    },
    clock: () => new Date(later),
    logger: testLogger,
    metrics: testMetrics,
    sweepParked: () => true,
  });
  outcomes.sweep = await sweep();

  // The rebuild (an operator command) as `npm run rebuild` runs it: the settings item, then
  // every customer, then the two named: C3's item is rewritten, C2's too once its item is
  // gone, with its entries past the bound written afresh.
  await direct.send(
    new DeleteItemCommand({
      TableName: tableName,
      Key: { pk: { S: statusKey(C2).pk }, sk: { S: statusKey(C2).sk } },
    }),
  );
  const rebuildClient = recordingClient(needsOfFunction.rebuild);
  const rebuilding = await storeOf({ ddb: rebuildClient.ddb, tableName });
  const ctx = { settings: rebuilding.settings, clock: () => Date.now() };
  // A customer whose first write was refused has an item without a rules version, which the
  // full run's Scan of the rulesVersion index does not see: named, as the runbook says.
  outcomes.rebuild = [
    await rebuildAll(rebuilding.store, ctx),
    await rebuildAll(rebuilding.store, ctx, { customers: [C2, C3] }),
  ];

  // The client: a cus_ id, an acct_ id, an acct_ id no event named, and ready().
  const clientClient = recordingClient(needsOfFunction.client);
  const gate = createBillingGate({ tableName, client: clientClient.ddb });
  await gate.ready();
  outcomes.client = [
    (await gate.check(C)).source,
    (await gate.check(A)).source,
    (await gate.check(stripeId('acct'))).source,
  ];
}, 240_000);

describe('the rights table against the requests the code makes', () => {
  it('ran the workload it claims: every event applied, the oversize one failed, each function answered', () => {
    // Assess
    expect(outcomes.processorFailures).toBe(0);
    expect(outcomes.oversizeFailures).toBe(1);
    expect(outcomes.sweep).toMatchObject({ applied: 1, noCustomer: 1, stillParked: 1, failed: 0 });
    expect((outcomes.sweep as { due: number }).due).toBeGreaterThan(0);
    expect((outcomes.sweep as { policy: number }).policy).toBeGreaterThan(0);
    expect(outcomes.api).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
    expect(outcomes.rebuild).toMatchObject([
      { failed: 0 },
      { customers: 2, rebuilt: 2, failed: 0 },
    ]);
    expect(outcomes.client).toEqual(['table', 'table', 'table']);
  });

  it("allows every request of every processor by its kind's rights", () => {
    // Assess
    expect([...processorNeeds.keys()].sort()).toEqual(
      [...new Set(REGISTRY.map((e) => e.kind))].sort(),
    );
    for (const [kind, needs] of processorNeeds) {
      const rights = processorRights(kind);
      expect(
        needs.filter((n) => !allows(rights, n)),
        kind,
      ).toEqual([]);
    }
  });

  it('allows every request of the sweeper, the status API, the rebuild and the client by theirs', () => {
    for (const [name, rights] of [
      ['sweeper', SWEEPER_RIGHTS],
      ['statusApi', STATUS_API_RIGHTS],
      ['rebuild', REBUILD_RIGHTS],
      ['client', CLIENT_RIGHTS],
    ] as const) {
      // Act
      const needs = needsOfFunction[name];

      // Assess
      expect(needs.length, name).toBeGreaterThan(0);
      expect(
        needs.filter((n) => !allows(rights, n)),
        name,
      ).toEqual([]);
    }
  });

  it('uses every right it grants, but the fallbacks no run of this workload reaches', () => {
    // Prepare: rights kept for paths this workload does not take, each with its reason.
    const unreached: Record<string, string[]> = {
      // A refused fact Put that returned no item (DynamoDB returns it): read it instead.
      processor: ['GetItem CUS#*'],
      sweeper: ['GetItem CUS#*'],
    };

    // Act
    const parking = processorRights('payment_intent');
    const allProcessors = [...processorNeeds.values()].flat();
    const unused = {
      processor: granted(parking).filter((r) => !used(parking, allProcessors).includes(r)),
      sweeper: granted(SWEEPER_RIGHTS).filter(
        (r) => !used(SWEEPER_RIGHTS, needsOfFunction.sweeper).includes(r),
      ),
      statusApi: granted(STATUS_API_RIGHTS).filter(
        (r) => !used(STATUS_API_RIGHTS, needsOfFunction.statusApi).includes(r),
      ),
      rebuild: granted(REBUILD_RIGHTS).filter(
        (r) => !used(REBUILD_RIGHTS, needsOfFunction.rebuild).includes(r),
      ),
      client: granted(CLIENT_RIGHTS).filter(
        (r) => !used(CLIENT_RIGHTS, needsOfFunction.client).includes(r),
      ),
    };

    // Assess
    expect(unused).toEqual({ statusApi: [], rebuild: [], client: [], ...unreached });
  });
});
