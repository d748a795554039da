// The status API (docs/behaviour.md#local-mode): billing status and history reads, operator overrides.
// A status read is one GetItem of the customer's status item. Behind API Gateway with IAM
// authorisation in AWS; on 127.0.0.1 locally.

import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { FactStore } from '../adapters/fact-store';
import { statusFromRecord } from '../core/billing-status';
import { BadRequestError } from '../core/errors';
import type { OverrideMode, OverrideRecord } from '../core/facts';
import { HistoryQueryError, pageOf, parseHistoryQuery } from '../core/history';
import type { StatusRecord } from '../core/status-record';
import { CUSTOMER_ID } from '../core/stripe-event';
import type { Logger } from '../observability';

export interface StatusApiDeps {
  store: Pick<FactStore, 'readStatus' | 'recordOverride' | 'history'>;
  expiryWarningDays: number;
  clock: () => Date;
  logger: Logger;
  /**
   * Take the acting operator's name from the `x-billing-gate-actor` header. Only locally: in
   * AWS the actor is the caller's IAM identity and nothing a caller sends can change it.
   */
  trustActorHeader: boolean;
}

const ROUTE = /\/customers\/([^/]+)\/(billing-status|events|override)\/?$/;
const MAX_REASON = 500;

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

export function parseOverrideBody(raw: string | undefined): { mode: OverrideMode; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(raw ?? '');
  } catch {
    throw new BadRequestError('body must be JSON: {"mode": "allow" | "deny", "reason": "..."}');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('body must be a JSON object');
  }
  const { mode, reason } = body as Record<string, unknown>;
  if (mode !== 'allow' && mode !== 'deny') {
    throw new BadRequestError('"mode" must be "allow" or "deny"');
  }
  if (typeof reason !== 'string' || reason.trim().length === 0) {
    throw new BadRequestError('"reason" is required: 1 to 500 characters');
  }
  if ([...reason].length > MAX_REASON) {
    throw new BadRequestError('"reason" is too long: at most 500 characters');
  }
  return { mode, reason };
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

export function makeStatusApiHandler(deps: StatusApiDeps) {
  const { store, logger } = deps;
  const statusJson = (customerId: string, record: StatusRecord) =>
    json(
      200,
      statusFromRecord(
        customerId,
        record,
        Math.floor(deps.clock().getTime() / 1000),
        deps.expiryWarningDays,
      ),
    );

  const writeOverride = async (
    customerId: string,
    change: { mode: OverrideMode; reason: string } | null,
    actor: string,
  ) => {
    const now = deps.clock();
    const record: OverrideRecord = {
      id: newOverrideId(now),
      customerId,
      mode: change?.mode ?? null,
      reason: change?.reason ?? null,
      setAt: now.toISOString(),
      actor,
    };
    // A set creates the record; a clear alone does not.
    const written = await store.recordOverride(record, { createRecord: change !== null });
    if (!written) return unknownCustomer(customerId);
    logger.info('override recorded', { customerId, overrideId: record.id, mode: record.mode });
    return statusJson(customerId, written);
  };

  const history = async (customerId: string, event: APIGatewayProxyEventV2) => {
    const query = parseHistoryQuery(event.queryStringParameters ?? {});
    const stored = await store.readStatus(customerId);
    if (!stored) return unknownCustomer(customerId);
    const page = pageOf(await store.history(customerId, stored), query);
    const result = json(200, page.entries);
    if (page.next) {
      const params = new URLSearchParams({ limit: String(query.limit), cursor: page.next });
      if (query.order === 'desc') params.set('order', 'desc');
      result.headers = { ...result.headers, link: `<${event.rawPath}?${params}>; rel="next"` };
    }
    return result;
  };

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    const method = event.requestContext.http.method.toUpperCase();
    // The path carries the route both behind API Gateway (possibly under a stage or base
    // path prefix) and behind the local front.
    const match = ROUTE.exec(event.rawPath);
    if (!match) return json(404, { error: 'not found' });
    const customerId = event.pathParameters?.customerId ?? safeDecode(match[1]!);
    const resource = match[2]!;
    if (!CUSTOMER_ID.test(customerId)) {
      return json(400, { error: 'customer id must be "cus_" followed by letters and digits' });
    }
    try {
      if (resource === 'override') {
        const actor = actorOf(event, deps.trustActorHeader);
        if (method === 'PUT') {
          return await writeOverride(customerId, parseOverrideBody(bodyText(event)), actor);
        }
        if (method === 'DELETE') return await writeOverride(customerId, null, actor);
        return json(405, { error: 'method not allowed' });
      }
      if (method !== 'GET') return json(405, { error: 'method not allowed' });
      if (resource === 'events') return await history(customerId, event);
      const stored = await store.readStatus(customerId);
      return stored ? statusJson(customerId, stored.record) : unknownCustomer(customerId);
    } catch (err) {
      if (err instanceof BadRequestError || err instanceof HistoryQueryError) {
        return json(400, { error: err.message });
      }
      throw err;
    }
  };
}
