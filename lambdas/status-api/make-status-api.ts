// The status API (docs/behaviour.md#local-mode): billing status and history reads, operator
// overrides (which may expire), and the list of customers in trouble. A status read is one
// GetItem of the customer's status item, evaluated at the moment of the read under the
// deployment's settings. Behind API Gateway with IAM authorisation in AWS; on 127.0.0.1
// locally.

import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { FactStore, StoredStatus } from '../adapters/fact-store';
import type { Item } from '../adapters/status-item';
import type { StatusSettings } from '../core/billing-status';
import { BadRequestError } from '../core/errors';
import type { BillingStatus, OverrideMode, OverrideRecord } from '../core/facts';
import { HistoryQueryError, pageOf, parseHistoryQuery } from '../core/history';
import { parseDuration } from '../core/policy';
import { ACCOUNT_ID, CUSTOMER_ID } from '../core/stripe-event';
import type { Logger } from '../observability';
import {
  customerOfId,
  LIST_MAX_LIMIT,
  listingPage,
  statusOfStored,
  type TroubleState,
} from './listing';

export { isInState, type TroubleState } from './listing';

export interface StatusApiDeps {
  store: Pick<
    FactStore,
    | 'readStatus'
    | 'recordOverride'
    | 'history'
    | 'ownerOf'
    | 'allFacts'
    | 'overrides'
    | 'customersIn'
    | 'readStatuses'
  >;
  settings: StatusSettings;
  clock: () => Date;
  logger: Logger;
  /**
   * Take the acting operator's name from the `x-billing-gate-actor` header. Only locally: in
   * AWS the actor is the caller's IAM identity and nothing a caller sends can change it.
   */
  trustActorHeader: boolean;
}

const ROUTE = /\/customers\/([^/]+)\/(billing-status|events|override)\/?$/;
const LIST_ROUTE = /\/customers\/?$/;
const MAX_REASON = 500;
/** An override expires at most this far ahead. */
export const MAX_OVERRIDE_SECONDS = 365 * 86_400;

type Result = APIGatewayProxyStructuredResultV2;

const json = (statusCode: number, body: unknown): Result => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const unknownCustomer = (customerId: string) =>
  json(404, { error: `no applied event has mentioned ${customerId}` });

const safeDecode = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed escape is refused by the id check below
  }
};

/** `ovr_` + a time-sortable, unique suffix. */
export function newOverrideId(now: Date): string {
  const time = now.getTime().toString(36).padStart(9, '0');
  return `ovr_${time}${randomBytes(6).toString('hex')}`;
}

export interface OverrideRequest {
  mode: OverrideMode;
  reason: string;
  /** Unix seconds; null: the override does not expire. */
  expiresAt: number | null;
}

/** The body of `PUT .../override`, validated at `nowSeconds` (docs/behaviour.md#access-policy). */
export function parseOverrideBody(raw: string | undefined, nowSeconds: number): OverrideRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw ?? '');
  } catch {
    throw new BadRequestError(
      'body must be JSON: {"mode": "allow" | "deny", "reason": "...", "expiresIn"?: "5d"}',
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('body must be a JSON object');
  }
  const { mode, reason, expiresAt, expiresIn } = body as Record<string, unknown>;
  if (mode !== 'allow' && mode !== 'deny') {
    throw new BadRequestError('"mode" must be "allow" or "deny"');
  }
  if (typeof reason !== 'string' || reason.trim().length === 0) {
    throw new BadRequestError('"reason" is required: 1 to 500 characters');
  }
  if ([...reason].length > MAX_REASON) {
    throw new BadRequestError('"reason" is too long: at most 500 characters');
  }
  if (expiresAt !== undefined && expiresIn !== undefined) {
    throw new BadRequestError('give "expiresAt" or "expiresIn", not both');
  }
  let expires: number | null = null;
  if (expiresIn !== undefined) {
    const seconds = parseDuration(expiresIn, MAX_OVERRIDE_SECONDS);
    if (seconds === null || seconds === 0) {
      throw new BadRequestError(
        '"expiresIn" must be a duration of seconds, or digits followed by s, m, h or d (e.g. "5d"), more than 0 and at most 365 days',
      );
    }
    expires = nowSeconds + seconds;
  } else if (expiresAt !== undefined) {
    if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt)) {
      throw new BadRequestError('"expiresAt" must be unix seconds (a whole number)');
    }
    if (expiresAt <= nowSeconds) throw new BadRequestError('"expiresAt" must be in the future');
    if (expiresAt > nowSeconds + MAX_OVERRIDE_SECONDS) {
      throw new BadRequestError('"expiresAt" must be at most 365 days ahead');
    }
    expires = expiresAt;
  }
  return { mode, reason, expiresAt: expires };
}

/** Who acts: the IAM caller in AWS (the routes require IAM auth); locally a header. */
function actorOf(event: APIGatewayProxyEventV2, trustHeader: boolean): string {
  const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer
    ?.iam?.userArn;
  if (iam) return iam;
  if (!trustHeader) return 'unknown';
  const header = Object.entries(event.headers ?? {}).find(
    ([k]) => k.toLowerCase() === 'x-billing-gate-actor',
  )?.[1];
  return header?.slice(0, 200) || 'local';
}

function bodyText(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function encodeListCursor(key: Item, state: TroubleState): string {
  return Buffer.from(JSON.stringify([state, key])).toString('base64url');
}

function decodeListCursor(cursor: string, state: TroubleState): Item {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed[0] === state && typeof parsed[1] === 'object') {
      return parsed[1] as Item;
    }
  } catch {
    // refused below
  }
  throw new BadRequestError('"cursor" is not a cursor this list gave for this state');
}

export function makeStatusApiHandler(deps: StatusApiDeps) {
  const { store, logger } = deps;
  const nowSeconds = () => Math.floor(deps.clock().getTime() / 1000);

  /** The status of a stored item now; an item whose write failed for its size answers from the facts. */
  const statusOf = (customerId: string, stored: StoredStatus): Promise<BillingStatus> =>
    statusOfStored(store, customerId, stored, nowSeconds(), deps.settings);

  /** The customer id a route names: a `cus_` id, or an `acct_` id's customer (null: unknown). */
  const customerOf = (id: string): Promise<string | null> => customerOfId(store, id);

  const writeOverride = async (
    customerId: string,
    change: OverrideRequest | null,
    actor: string,
  ) => {
    const now = deps.clock();
    const record: OverrideRecord = {
      id: newOverrideId(now),
      customerId,
      mode: change?.mode ?? null,
      reason: change?.reason ?? null,
      setAt: now.toISOString(),
      expiresAt: change?.expiresAt ?? null,
      actor,
    };
    // A set creates the record; a clear alone does not.
    const written = await store.recordOverride(record, { createRecord: change !== null });
    if (!written) return unknownCustomer(customerId);
    logger.info('override recorded', { customerId, overrideId: record.id, mode: record.mode });
    return json(200, await statusOf(customerId, written));
  };

  const history = async (customerId: string, event: APIGatewayProxyEventV2) => {
    const query = parseHistoryQuery(event.queryStringParameters ?? {});
    const stored = await store.readStatus(customerId);
    if (!stored) return unknownCustomer(customerId);
    const page = pageOf(await store.history(customerId, stored, nowSeconds()), query);
    const result = json(200, page.entries);
    if (page.next) {
      const params = new URLSearchParams({ limit: String(query.limit), cursor: page.next });
      if (query.order === 'desc') params.set('order', 'desc');
      result.headers = { ...result.headers, link: `<${event.rawPath}?${params}>; rel="next"` };
    }
    return result;
  };

  const list = async (event: APIGatewayProxyEventV2) => {
    const params = event.queryStringParameters ?? {};
    const state = params.state;
    if (state !== 'blocked' && state !== 'grace' && state !== 'warned') {
      throw new BadRequestError('"state" must be "blocked", "grace" or "warned"');
    }
    let limit = LIST_MAX_LIMIT;
    if (params.limit !== undefined) {
      if (
        !/^\d{1,4}$/.test(params.limit) ||
        Number(params.limit) < 1 ||
        Number(params.limit) > LIST_MAX_LIMIT
      ) {
        throw new BadRequestError(`"limit" must be a whole number from 1 to ${LIST_MAX_LIMIT}`);
      }
      limit = Number(params.limit);
    }
    const start = params.cursor === undefined ? null : decodeListCursor(params.cursor, state);
    const page = await listingPage(store, state, {
      limit,
      start,
      now: nowSeconds(),
      settings: deps.settings,
    });
    const result = json(200, page.entries);
    if (page.next) {
      const next = new URLSearchParams({
        state,
        limit: String(limit),
        cursor: encodeListCursor(page.next, state),
      });
      result.headers = { ...result.headers, link: `<${event.rawPath}?${next}>; rel="next"` };
    }
    return result;
  };

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const method = event.requestContext.http.method.toUpperCase();
    try {
      if (LIST_ROUTE.test(event.rawPath)) {
        if (method !== 'GET') return json(405, { error: 'method not allowed' });
        return await list(event);
      }
      // The path carries the route both behind API Gateway (possibly under a stage or base
      // path prefix) and behind the local front.
      const match = ROUTE.exec(event.rawPath);
      if (!match) return json(404, { error: 'not found' });
      const id = event.pathParameters?.customerId ?? safeDecode(match[1]!);
      const resource = match[2]!;
      if (!CUSTOMER_ID.test(id) && !ACCOUNT_ID.test(id)) {
        return json(400, {
          error:
            'customer id must be "cus_" (or an Accounts v2 "acct_") followed by letters and digits',
        });
      }
      const customerId = await customerOf(id);
      if (!customerId) return unknownCustomer(id);
      if (resource === 'override') {
        const actor = actorOf(event, deps.trustActorHeader);
        if (method === 'PUT') {
          const change = parseOverrideBody(bodyText(event), nowSeconds());
          return await writeOverride(customerId, change, actor);
        }
        if (method === 'DELETE') return await writeOverride(customerId, null, actor);
        return json(405, { error: 'method not allowed' });
      }
      if (method !== 'GET') return json(405, { error: 'method not allowed' });
      if (resource === 'events') return await history(customerId, event);
      const stored = await store.readStatus(customerId);
      return stored ? json(200, await statusOf(customerId, stored)) : unknownCustomer(id);
    } catch (err) {
      if (err instanceof BadRequestError || err instanceof HistoryQueryError) {
        return json(400, { error: err.message });
      }
      throw err;
    }
  };
}
