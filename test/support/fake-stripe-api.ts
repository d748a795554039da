// A local stand-in for the parts of the Stripe API the operator commands call (reconcile,
// backfill, register-endpoint), answering the way Stripe documents them: list objects with
// `limit`/`starting_after`, form-encoded bodies, Bearer keys, Stripe's error shapes; and
// the v2 event destinations (`/v2/core/event_destinations`: JSON bodies, `next_page_url`). Tests
// seed it with objects built from the published fixtures and can inject 429s and malformed
// answers; every request is logged for assertions.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  PINNED_API_VERSION,
  buildEvent,
  fixture,
  stripeId,
  type EventOptions,
} from '../../bin/events/stripe-events';
import type { StripeEvent, StripeObject } from '../../lambdas/core/stripe-event';

/** A form- or query-decoded value, nested the way Stripe reads `a[b][0]=c`. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

export interface LoggedRequest {
  method: string;
  path: string;
  query: FormObject;
  body: FormObject;
  status: number;
}

export interface RateLimitOptions {
  /** `Retry-After` seconds, when set. */
  retryAfter?: number;
  /** `Stripe-Should-Retry`, when set. */
  shouldRetry?: boolean;
}

/** What a malformed answer looks like: not JSON, a list without `data`, or an item without `id`. */
export type MalformedKind = 'not-json' | 'no-data' | 'bad-item';

export interface WebhookEndpointObject extends StripeObject {
  id: string;
  url: string;
  enabled_events: string[];
  api_version: string | null;
  status: 'enabled' | 'disabled';
}

/** A v2 event destination as the API shows it (`amazon_eventbridge` ones are what we make). */
export interface EventDestinationObject {
  id: string;
  object: 'v2.core.event_destination';
  type: string;
  name: string;
  description: string;
  enabled_events: string[];
  event_payload: 'snapshot' | 'thin';
  snapshot_api_version?: string;
  events_from?: string[];
  status: 'enabled' | 'disabled';
  livemode: boolean;
  created: string;
  updated: string;
  amazon_eventbridge?: {
    aws_account_id: string;
    aws_event_source_arn: string;
    aws_event_source_status: 'active' | 'deleted' | 'pending' | 'unknown';
  };
}

export interface FakeStripeApi {
  /** `http://127.0.0.1:<port>`, the value for STRIPE_API_BASE. */
  readonly url: string;
  readonly apiKey: string;
  readonly requests: LoggedRequest[];
  /** Seeded state; push to these or use the helpers below. */
  readonly events: StripeEvent[];
  readonly invoices: StripeObject[];
  readonly subscriptions: StripeObject[];
  readonly disputes: StripeObject[];
  readonly charges: StripeObject[];
  /** PaymentMethods; `customer` says whose. */
  readonly paymentMethods: StripeObject[];
  /** Legacy cards, bank accounts and Sources attached to customers; `customer` says whose. */
  readonly sources: StripeObject[];
  readonly webhookEndpoints: WebhookEndpointObject[];
  readonly eventDestinations: EventDestinationObject[];
  /** Customers the API knows (others answer 404 on `/v1/customers/{id}/...`). */
  readonly customers: Set<string>;
  /** Event ids whose webhook delivery is pending or failed (`delivery_success=false`). */
  readonly undelivered: Set<string>;
  /** The next `count` requests answer 429 with Stripe's rate-limit error. */
  rateLimitNext(count: number, options?: RateLimitOptions): void;
  /** The next request whose path starts with `pathPrefix` (any, when omitted) answers malformed. */
  malformNext(kind: MalformedKind, pathPrefix?: string): void;
  /** Requests to `path` (exact), for assertions. */
  requestsTo(path: string, method?: string): LoggedRequest[];
  close(): Promise<void>;
}

const LIMIT_DEFAULT = 10;
const LIMIT_MAX = 100;
/** The Events API's documented cap on the `types` filter. */
const MAX_EVENT_TYPES = 20;

// ---------------------------------------------------------------------------------------
// Form decoding: `types[0]=a&types[1]=b`, `types[]=a`, `created[gte]=1`

function setPath(target: FormObject, key: string, value: string): void {
  const match = /^([^[]+)((?:\[[^\]]*\])*)$/.exec(key);
  if (!match) {
    target[key] = value;
    return;
  }
  const segments = [...match[2]!.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!);
  let node: FormObject | FormValue[] = target;
  let name: string | number = match[1]!;
  for (const segment of segments) {
    const container: FormValue | undefined = Array.isArray(node)
      ? node[name as number]
      : node[name as string];
    const wantArray = segment === '' || /^\d+$/.test(segment);
    let next: FormObject | FormValue[];
    if (container === undefined || typeof container === 'string') {
      next = wantArray ? [] : {};
      if (Array.isArray(node)) node[name as number] = next;
      else node[name as string] = next;
    } else {
      next = container as FormObject | FormValue[];
    }
    node = next;
    name =
      segment === '' && Array.isArray(node)
        ? node.length
        : /^\d+$/.test(segment)
          ? Number(segment)
          : segment;
  }
  if (Array.isArray(node)) node[name as number] = value;
  else node[name as string] = value;
}

export function decodeForm(text: string): FormObject {
  const out: FormObject = {};
  for (const [key, value] of new URLSearchParams(text)) setPath(out, key, value);
  return out;
}

const asString = (v: FormValue | undefined): string | undefined =>
  typeof v === 'string' ? v : undefined;
const asStrings = (v: FormValue | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : Array.isArray(v)
      ? v.filter((x): x is string => typeof x === 'string')
      : typeof v === 'string'
        ? [v]
        : Object.values(v).filter((x): x is string => typeof x === 'string');

// ---------------------------------------------------------------------------------------
// Answers

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

const invalid = (message: string, param?: string) =>
  new ApiError(400, 'invalid_request_error', message, 'parameter_invalid_string', param);
const missing = (what: string, id: string) =>
  new ApiError(404, 'invalid_request_error', `No such ${what}: '${id}'`, 'resource_missing', 'id');

function createdFilter(q: FormObject): (o: StripeObject) => boolean {
  const c = q.created;
  if (c === undefined) return () => true;
  const num = (v: FormValue | undefined) => (typeof v === 'string' ? Number(v) : undefined);
  if (typeof c === 'string') return (o) => o.created === Number(c);
  if (Array.isArray(c)) throw invalid('Invalid created', 'created');
  const { gt, gte, lt, lte } = { gt: num(c.gt), gte: num(c.gte), lt: num(c.lt), lte: num(c.lte) };
  return (o) => {
    const t = o.created as number;
    return (
      (gt === undefined || t > gt) &&
      (gte === undefined || t >= gte) &&
      (lt === undefined || t < lt) &&
      (lte === undefined || t <= lte)
    );
  };
}

/** Newest first, as Stripe lists; equal `created` keep reverse insertion order. */
function newestFirst<T extends StripeObject>(items: readonly T[]): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort(
      (a, b) =>
        ((b.item.created as number) ?? 0) - ((a.item.created as number) ?? 0) || b.index - a.index,
    )
    .map((x) => x.item);
}

function page(
  url: string,
  items: readonly StripeObject[],
  q: FormObject,
  ordered = true,
): StripeObject {
  const rawLimit = asString(q.limit);
  const limit = rawLimit === undefined ? LIMIT_DEFAULT : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIMIT_MAX) {
    throw invalid(`Invalid integer: ${rawLimit}. Must be between 1 and ${LIMIT_MAX}`, 'limit');
  }
  const list = ordered ? newestFirst(items) : [...items];
  let start = 0;
  const after = asString(q.starting_after);
  if (after !== undefined) {
    const at = list.findIndex((o) => o.id === after);
    if (at < 0) throw invalid(`No such object: '${after}'`, 'starting_after');
    start = at + 1;
  }
  const data = list.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < list.length, url };
}

function webhookEndpointView(e: WebhookEndpointObject): StripeObject {
  const { secret: _secret, ...view } = e as WebhookEndpointObject & { secret?: string };
  return view;
}

const SUBSCRIPTION_DEFAULT_EXCLUDED = new Set(['canceled']);
const SUBSCRIPTION_ENDED = new Set(['canceled', 'incomplete_expired']);

// ---------------------------------------------------------------------------------------
// Seeding helpers: Stripe objects shaped from the published fixtures

/** The object of a built event of `type` (its recipe shapes the fixture like Stripe does). */
export function objectLike(type: string, options: EventOptions = {}): StripeObject {
  return buildEvent(type, options).data.object;
}

export function invoiceObject(opts: {
  customer: string;
  status: 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';
  attemptCount?: number;
  created?: number;
  livemode?: boolean;
}): StripeObject {
  const attempts = opts.attemptCount ?? (opts.status === 'draft' ? 0 : 1);
  return objectLike('invoice.payment_failed', {
    customer: opts.customer,
    created: opts.created ?? 1_700_000_000,
    object: {
      id: stripeId('in'),
      status: opts.status,
      attempt_count: attempts,
      attempted: attempts > 0,
      livemode: opts.livemode ?? false,
    },
  });
}

export function subscriptionObject(opts: {
  customer: string;
  status: string;
  created?: number;
}): StripeObject {
  return objectLike('customer.subscription.updated', {
    customer: opts.customer,
    created: opts.created ?? 1_700_000_000,
    object: { id: stripeId('sub'), status: opts.status },
  });
}

/** A charge of `customer` (null: a guest) and a dispute on it. */
export function disputedCharge(opts: {
  customer: string | null;
  status: string;
  created?: number;
}): { charge: StripeObject; dispute: StripeObject } {
  const created = opts.created ?? 1_700_000_000;
  const charge = objectLike('charge.succeeded', {
    customer: opts.customer,
    created,
    object: { id: stripeId('ch'), disputed: true },
  });
  const dispute = objectLike('charge.dispute.created', {
    created,
    object: { id: stripeId('dp'), charge: charge.id, status: opts.status },
  });
  return { charge, dispute };
}

export function paymentMethodObject(opts: {
  customer: string;
  expMonth?: number;
  expYear?: number;
}): StripeObject {
  const o = objectLike('payment_method.attached', {
    customer: opts.customer,
    object: { id: stripeId('pm') },
  });
  const card = o.card as StripeObject;
  if (opts.expMonth !== undefined) card.exp_month = opts.expMonth;
  if (opts.expYear !== undefined) card.exp_year = opts.expYear;
  return o;
}

/** A legacy Card attached to `customer` (Card objects carry no `livemode`). */
export function legacyCardObject(opts: { customer: string; id?: string }): StripeObject {
  const card = fixture('card');
  card.id = opts.id ?? stripeId('card');
  card.customer = opts.customer;
  return card;
}

// ---------------------------------------------------------------------------------------
// The server

export async function startFakeStripeApi(
  options: { apiKey?: string } = {},
): Promise<FakeStripeApi> {
  const apiKey = options.apiKey ?? 'sk_test_fake_stripe_api_key';
  const requests: LoggedRequest[] = [];
  const events: StripeEvent[] = [];
  const invoices: StripeObject[] = [];
  const subscriptions: StripeObject[] = [];
  const disputes: StripeObject[] = [];
  const charges: StripeObject[] = [];
  const paymentMethods: StripeObject[] = [];
  const sources: StripeObject[] = [];
  const webhookEndpoints: WebhookEndpointObject[] = [];
  const eventDestinations: EventDestinationObject[] = [];
  const customers = new Set<string>();
  const undelivered = new Set<string>();
  let rateLimited: { remaining: number; options: RateLimitOptions } = {
    remaining: 0,
    options: {},
  };
  const malformed: { kind: MalformedKind; prefix: string }[] = [];

  const knownCustomer = (id: string) =>
    customers.has(id) ||
    [...invoices, ...subscriptions, ...charges, ...paymentMethods, ...sources].some(
      (o) => o.customer === id,
    );

  const route = (method: string, path: string, q: FormObject, body: FormObject): StripeObject => {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    const [v1, resource, id, sub] = segments;
    if (v1 === 'v2')
      return routeV2(method, segments, q, body as unknown as Record<string, unknown>);
    if (v1 !== 'v1' || resource === undefined) throw missing('route', path);

    if (method === 'GET' && resource === 'events' && id === undefined) {
      const types = asStrings(q.types);
      if (types && types.length > MAX_EVENT_TYPES) {
        throw invalid(`types: array too long (maximum ${MAX_EVENT_TYPES})`, 'types');
      }
      const type = asString(q.type);
      const delivery = asString(q.delivery_success);
      const inRange = createdFilter(q);
      const selected = events.filter(
        (e) =>
          (types === undefined || types.includes(e.type)) &&
          (type === undefined || matchesType(type, e.type)) &&
          (delivery === undefined || (delivery === 'false') === undelivered.has(e.id)) &&
          inRange(e as unknown as StripeObject),
      );
      return page('/v1/events', selected as unknown as StripeObject[], q);
    }
    if (method === 'GET' && resource === 'invoices' && id === undefined) {
      const status = asString(q.status);
      const customer = asString(q.customer);
      const inRange = createdFilter(q);
      return page(
        '/v1/invoices',
        invoices.filter(
          (o) =>
            (status === undefined || o.status === status) &&
            (customer === undefined || o.customer === customer) &&
            inRange(o),
        ),
        q,
      );
    }
    if (method === 'GET' && resource === 'subscriptions' && id === undefined) {
      const status = asString(q.status);
      const customer = asString(q.customer);
      const statusOk = (s: string) =>
        status === undefined
          ? !SUBSCRIPTION_DEFAULT_EXCLUDED.has(s)
          : status === 'all'
            ? true
            : status === 'ended'
              ? SUBSCRIPTION_ENDED.has(s)
              : s === status;
      return page(
        '/v1/subscriptions',
        subscriptions.filter(
          (o) =>
            statusOk(o.status as string) && (customer === undefined || o.customer === customer),
        ),
        q,
      );
    }
    if (method === 'GET' && resource === 'disputes' && id === undefined) {
      const charge = asString(q.charge);
      const pi = asString(q.payment_intent);
      const inRange = createdFilter(q);
      return page(
        '/v1/disputes',
        disputes.filter(
          (o) =>
            (charge === undefined || o.charge === charge) &&
            (pi === undefined || o.payment_intent === pi) &&
            inRange(o),
        ),
        q,
      );
    }
    if (method === 'GET' && resource === 'charges' && id !== undefined && sub === undefined) {
      const charge = charges.find((c) => c.id === id);
      if (!charge) throw missing('charge', id);
      return charge;
    }
    if (method === 'GET' && resource === 'customers' && id !== undefined) {
      if (!knownCustomer(id)) throw missing('customer', id);
      if (sub === 'payment_methods') {
        const type = asString(q.type);
        return page(
          `/v1/customers/${id}/payment_methods`,
          paymentMethods.filter(
            (pm) => pm.customer === id && (type === undefined || pm.type === type),
          ),
          q,
        );
      }
      if (sub === 'sources') {
        const object = asString(q.object);
        return page(
          `/v1/customers/${id}/sources`,
          sources.filter((s) => s.customer === id && (object === undefined || s.object === object)),
          q,
          false,
        );
      }
    }
    if (method === 'GET' && resource === 'payment_methods' && id === undefined) {
      const customer = asString(q.customer);
      const type = asString(q.type);
      if (customer !== undefined && !knownCustomer(customer)) throw missing('customer', customer);
      return page(
        '/v1/payment_methods',
        paymentMethods.filter(
          (pm) =>
            (customer === undefined || pm.customer === customer) &&
            (type === undefined || pm.type === type),
        ),
        q,
      );
    }
    if (resource === 'webhook_endpoints') {
      if (method === 'GET' && id === undefined) {
        return page('/v1/webhook_endpoints', webhookEndpoints.map(webhookEndpointView), q);
      }
      if (method === 'POST' && id === undefined) return createEndpoint(body);
      const endpoint = id === undefined ? undefined : webhookEndpoints.find((e) => e.id === id);
      if (!endpoint) throw missing('webhook endpoint', id ?? '');
      if (method === 'GET') return webhookEndpointView(endpoint);
      if (method === 'POST') return updateEndpoint(endpoint, body);
      if (method === 'DELETE') {
        webhookEndpoints.splice(webhookEndpoints.indexOf(endpoint), 1);
        return { id: endpoint.id, object: 'webhook_endpoint', deleted: true };
      }
    }
    throw new ApiError(
      404,
      'invalid_request_error',
      `Unrecognized request URL (${method}: ${path}).`,
    );
  };

  // -------------------------------------------------------------------------------------
  // v2 event destinations: JSON in and out, pages linked by `next_page_url`.

  const V2_PAGE_DEFAULT = 20;
  const routeV2 = (
    method: string,
    segments: string[],
    q: FormObject,
    body: Record<string, unknown>,
  ): StripeObject => {
    const [, core, resource, id, action] = segments;
    if (core !== 'core' || resource !== 'event_destinations') {
      throw missing('route', `/${segments.join('/')}`);
    }
    if (id === undefined) {
      if (method === 'GET') {
        const limit = Number(asString(q.limit) ?? V2_PAGE_DEFAULT);
        const start = Number(asString(q.page) ?? 0);
        const data = eventDestinations.slice(start, start + limit);
        const more = start + limit < eventDestinations.length;
        return {
          data,
          next_page_url: more
            ? `/v2/core/event_destinations?limit=${limit}&page=${start + limit}`
            : null,
          previous_page_url: null,
        };
      }
      if (method === 'POST') return createDestination(body);
    }
    const destination = eventDestinations.find((d) => d.id === id);
    if (!destination) throw missing('event destination', id ?? '');
    if (method === 'GET' && action === undefined) return { ...destination };
    if (method === 'DELETE' && action === undefined) {
      eventDestinations.splice(eventDestinations.indexOf(destination), 1);
      return { id: destination.id, object: destination.object };
    }
    if (method === 'POST' && (action === 'enable' || action === 'disable')) {
      destination.status = action === 'enable' ? 'enabled' : 'disabled';
      destination.updated = new Date().toISOString();
      return { ...destination };
    }
    if (method === 'POST' && action === undefined) {
      for (const key of Object.keys(body)) {
        if (!['description', 'enabled_events', 'metadata', 'name', 'include'].includes(key)) {
          throw invalid(`${key} cannot be updated`, key);
        }
      }
      if (body.enabled_events !== undefined) {
        destination.enabled_events = v2EnabledEvents(body.enabled_events);
      }
      if (typeof body.name === 'string') destination.name = body.name;
      if (typeof body.description === 'string') destination.description = body.description;
      destination.updated = new Date().toISOString();
      return { ...destination };
    }
    throw new ApiError(404, 'invalid_request_error', `Unrecognized request URL (${method}).`);
  };

  const v2EnabledEvents = (value: unknown): string[] => {
    if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
      throw invalid('enabled_events must be a non-empty list of event types', 'enabled_events');
    }
    return value as string[];
  };

  const createDestination = (body: Record<string, unknown>): StripeObject => {
    const type = body.type;
    if (type !== 'amazon_eventbridge' && type !== 'webhook_endpoint') {
      throw invalid('type must be amazon_eventbridge or webhook_endpoint', 'type');
    }
    if (typeof body.name !== 'string' || body.name === '')
      throw invalid('name is required', 'name');
    const payload = body.event_payload;
    if (payload !== 'snapshot' && payload !== 'thin') {
      throw invalid('event_payload must be snapshot or thin', 'event_payload');
    }
    if (payload === 'thin' && body.snapshot_api_version !== undefined) {
      throw invalid('snapshot_api_version is for snapshot events only', 'snapshot_api_version');
    }
    const id = `ed_${apiKey.includes('_live_') ? '' : 'test_'}61${stripeId('x').slice(2)}`;
    const now = new Date().toISOString();
    const destination: EventDestinationObject = {
      id,
      object: 'v2.core.event_destination',
      type,
      name: body.name,
      description: typeof body.description === 'string' ? body.description : '',
      enabled_events: v2EnabledEvents(body.enabled_events),
      event_payload: payload,
      ...(typeof body.snapshot_api_version === 'string'
        ? { snapshot_api_version: body.snapshot_api_version }
        : {}),
      events_from: Array.isArray(body.events_from) ? (body.events_from as string[]) : ['@self'],
      status: 'enabled',
      livemode: apiKey.includes('_live_'),
      created: now,
      updated: now,
    };
    if (type === 'amazon_eventbridge') {
      const aws = body.amazon_eventbridge as Record<string, unknown> | undefined;
      if (typeof aws?.aws_account_id !== 'string' || !/^\d{12}$/.test(aws.aws_account_id)) {
        throw invalid('amazon_eventbridge.aws_account_id must be 12 digits', 'aws_account_id');
      }
      if (typeof aws.aws_region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(aws.aws_region)) {
        throw invalid('amazon_eventbridge.aws_region is not an AWS region', 'aws_region');
      }
      destination.amazon_eventbridge = {
        aws_account_id: aws.aws_account_id,
        aws_event_source_arn: `arn:aws:events:${aws.aws_region}::event-source/aws.partner/stripe.com/${id}`,
        aws_event_source_status: 'pending',
      };
    }
    eventDestinations.push(destination);
    return { ...destination };
  };

  const enabledEventsOf = (body: FormObject, required: boolean): string[] | undefined => {
    const list = asStrings(body.enabled_events);
    if (list === undefined) {
      if (required) throw invalid('Missing required param: enabled_events.', 'enabled_events');
      return undefined;
    }
    if (list.length === 0) throw invalid('enabled_events must not be empty', 'enabled_events');
    return list;
  };

  const createEndpoint = (body: FormObject): StripeObject => {
    const url = asString(body.url);
    if (!url) throw invalid('Missing required param: url.', 'url');
    if (!/^https?:\/\//.test(url)) throw invalid('Invalid URL: must be http(s)', 'url');
    const endpoint: WebhookEndpointObject & { secret: string } = {
      id: stripeId('we'),
      object: 'webhook_endpoint',
      api_version: asString(body.api_version) ?? null,
      application: null,
      created: Math.floor(Date.now() / 1000),
      description: asString(body.description) ?? null,
      enabled_events: enabledEventsOf(body, true)!,
      livemode: apiKey.includes('_live_'),
      metadata: {},
      secret: `whsec_${randomBytes(24).toString('hex')}`,
      status: 'enabled',
      url,
    };
    webhookEndpoints.push(endpoint);
    return { ...endpoint };
  };

  const updateEndpoint = (endpoint: WebhookEndpointObject, body: FormObject): StripeObject => {
    if (body.api_version !== undefined) {
      throw invalid('Received unknown parameter: api_version', 'api_version');
    }
    const events = enabledEventsOf(body, false);
    if (events) endpoint.enabled_events = events;
    const url = asString(body.url);
    if (url) endpoint.url = url;
    const description = asString(body.description);
    if (description !== undefined) endpoint.description = description;
    const disabled = asString(body.disabled);
    if (disabled !== undefined) endpoint.status = disabled === 'true' ? 'disabled' : 'enabled';
    return webhookEndpointView(endpoint);
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Request-Id': `req_${randomBytes(7).toString('hex')}`,
      'Stripe-Version': PINNED_API_VERSION,
      ...headers,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: decodeForm(url.search.slice(1)),
      body:
        method !== 'POST'
          ? {}
          : url.pathname.startsWith('/v2/')
            ? (JSON.parse(rawBody || '{}') as FormObject)
            : decodeForm(rawBody),
      status: 0,
    };
    requests.push(entry);
    const answer = (status: number, body: string, headers?: Record<string, string>) => {
      entry.status = status;
      send(res, status, body, headers);
    };
    const error = (e: ApiError, headers?: Record<string, string>) =>
      answer(
        e.status,
        JSON.stringify({
          error: {
            type: e.type,
            message: e.message,
            ...(e.code ? { code: e.code } : {}),
            ...(e.param ? { param: e.param } : {}),
          },
        }),
        headers,
      );

    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return error(
        new ApiError(401, 'invalid_request_error', 'Invalid API Key provided: sk_****'),
        { 'WWW-Authenticate': 'Bearer realm="Stripe"' },
      );
    }
    if (rateLimited.remaining > 0) {
      rateLimited.remaining -= 1;
      const o = rateLimited.options;
      return error(
        new ApiError(
          429,
          'invalid_request_error',
          'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
          'rate_limit',
        ),
        {
          ...(o.retryAfter === undefined ? {} : { 'Retry-After': String(o.retryAfter) }),
          ...(o.shouldRetry === undefined ? {} : { 'Stripe-Should-Retry': String(o.shouldRetry) }),
          'Stripe-Rate-Limited-Reason': 'global-rate',
        },
      );
    }
    const broken = malformed.findIndex((m) => url.pathname.startsWith(m.prefix));
    if (broken >= 0) {
      const kind = malformed.splice(broken, 1)[0]!.kind;
      if (kind === 'not-json') return answer(200, '<html>upstream error</html>');
      if (kind === 'no-data') {
        return answer(200, JSON.stringify({ object: 'list', has_more: false, url: url.pathname }));
      }
      return answer(
        200,
        JSON.stringify({
          object: 'list',
          data: [{ object: 'surprise', amount: 1 }],
          has_more: false,
          url: url.pathname,
        }),
      );
    }
    try {
      answer(200, JSON.stringify(route(method, url.pathname, entry.query, entry.body)));
    } catch (e) {
      if (e instanceof ApiError) return error(e);
      answer(500, JSON.stringify({ error: { type: 'api_error', message: String(e) } }));
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, '{"error":{"type":"api_error","message":"fake"}}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    events,
    invoices,
    subscriptions,
    disputes,
    charges,
    paymentMethods,
    sources,
    webhookEndpoints,
    eventDestinations,
    customers,
    undelivered,
    rateLimitNext(count, opts = {}) {
      rateLimited = { remaining: count, options: opts };
    },
    malformNext(kind, pathPrefix = '/') {
      malformed.push({ kind, prefix: pathPrefix });
    },
    requestsTo(path, method) {
      return requests.filter(
        (r) => r.path === path && (method === undefined || r.method === method),
      );
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** Stripe's `type` filter accepts a trailing wildcard (`invoice.*`). */
function matchesType(filter: string, type: string): boolean {
  return filter.endsWith('*') ? type.startsWith(filter.slice(0, -1)) : filter === type;
}
