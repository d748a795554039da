import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { buildEvent, signatureHeader } from '../../bin/stripe-events';
import type { QueuedEvent } from '../../lambdas/adapters/event-queue';
import { QueueUnavailableError } from '../../lambdas/core/errors';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { makeVerifierHandler, type VerifierDeps } from '../../lambdas/verifier/make-verifier';
import { testLogger, testMetrics } from '../support/telemetry';

const SECRET = 'whsec_unit_test_secret';

function setup(overrides: Partial<VerifierDeps> = {}) {
  const queued: QueuedEvent[] = [];
  const secretReads: boolean[] = [];
  const handler = makeVerifierHandler({
    secrets: async (options) => {
      secretReads.push(options?.refresh === true);
      return [SECRET];
    },
    queue: { send: async (e) => void queued.push(e) },
    enabledTypes: new Set(HANDLED_TYPES),
    stripeMode: null,
    toleranceSeconds: 300,
    maxBodyBytes: 1_000_000,
    clock: () => new Date(),
    logger: testLogger,
    metrics: testMetrics,
    ...overrides,
  });
  return { handler, queued, secretReads };
}

function request(
  body: string,
  headers: Record<string, string>,
  { method = 'POST', base64 = false } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers,
    requestContext: { http: { method } } as APIGatewayProxyEventV2['requestContext'],
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  };
}

const signed = (payload: string, secret = SECRET) => ({
  'Stripe-Signature': signatureHeader(payload, secret),
});
const payloadOf = (type: string, opts = {}) => JSON.stringify(buildEvent(type, opts), null, 2);

describe('the verifier handler', () => {
  it('queues a verified event of a handled type and answers 200 queued', async () => {
    const { handler, queued } = setup();
    const payload = payloadOf('invoice.payment_failed', { id: 'evt_q1' });
    const res = await handler(request(payload, signed(payload)));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body!)).toEqual({ received: true, id: 'evt_q1', queued: true });
    expect(queued).toEqual([
      { id: 'evt_q1', type: 'invoice.payment_failed', livemode: false, body: payload },
    ]);
  });

  it('decodes base64 bodies and reads header names case-insensitively', async () => {
    const { handler, queued } = setup();
    const payload = payloadOf('charge.failed');
    const res = await handler(
      request(payload, { 'STRIPE-SIGNATURE': signatureHeader(payload, SECRET) }, { base64: true }),
    );
    expect(res.statusCode).toBe(200);
    expect(queued[0]?.body).toBe(payload);
  });

  it('answers 413 for a body over 1,000,000 bytes before any other work', async () => {
    const { handler, queued, secretReads } = setup();
    const res = await handler(request('x'.repeat(1_000_001), {}));
    expect(res.statusCode).toBe(413);
    expect(secretReads).toEqual([]);
    expect(queued).toEqual([]);
  });

  it('answers 405 to other methods', async () => {
    const { handler } = setup();
    const res = await handler(request('', {}, { method: 'GET' }));
    expect(res.statusCode).toBe(405);
  });

  it.each([
    ['a missing signature', (p: string) => [p, {}] as const, /missing/],
    ['a forged signature', (p: string) => [p, signed(p, 'whsec_forger')] as const, /no signature/],
    ['a tampered body', (p: string) => [p + ' ', signed(p)] as const, /no signature/],
    [
      'a stale timestamp',
      (p: string) => [p, { 'stripe-signature': signatureHeader(p, SECRET, 1_000_000) }] as const,
      /tolerance/,
    ],
  ])(
    'answers 400 for %s, queues nothing, and re-reads the secret once',
    async (_n, make, reason) => {
      const { handler, queued, secretReads } = setup();
      const [body, headers] = make(payloadOf('invoice.paid'));
      const res = await handler(request(body, headers));
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body!).error).toMatch(reason);
      expect(res.body).not.toContain(SECRET);
      expect(queued).toEqual([]);
      expect(secretReads).toEqual([false, true]);
    },
  );

  it.each([
    ['not JSON', 'this is not json', /not valid JSON/],
    ['not an event', JSON.stringify({ object: 'invoice', id: 'in_1' }), /"object" must be "event"/],
    ['an id without evt_', JSON.stringify({ ...buildEvent('invoice.paid'), id: 'x_1' }), /"id"/],
    ['no type', JSON.stringify({ ...buildEvent('invoice.paid'), type: 7 }), /"type"/],
    ['no created', JSON.stringify({ ...buildEvent('invoice.paid'), created: 'now' }), /"created"/],
    ['no data.object', JSON.stringify({ ...buildEvent('invoice.paid'), data: {} }), /data\.object/],
  ])('answers 400 for a verified payload that is %s', async (_n, payload, reason) => {
    const { handler, queued } = setup();
    const res = await handler(request(payload, signed(payload)));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body!).error).toMatch(reason);
    expect(queued).toEqual([]);
  });

  it.each([
    ['an unhandled type', () => payloadOf('plan.created'), {}],
    [
      'a type disabled by configuration',
      () => payloadOf('invoice.paid'),
      { enabledTypes: new Set(['charge.failed']) },
    ],
    [
      'a livemode that does not match STRIPE_MODE',
      () => payloadOf('invoice.paid', { livemode: true }),
      { stripeMode: 'test' as const },
    ],
    ['a connected account', () => payloadOf('invoice.paid', { account: 'acct_123' }), {}],
  ])('acknowledges and ignores %s', async (_n, make, deps) => {
    const { handler, queued } = setup(deps);
    const payload = make();
    const res = await handler(request(payload, signed(payload)));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body!)).toMatchObject({ received: true, ignored: true });
    expect(queued).toEqual([]);
  });

  it('answers 503 when the event cannot be queued, so Stripe retries', async () => {
    const { handler } = setup({
      queue: {
        send: async () => {
          throw new QueueUnavailableError('down');
        },
      },
    });
    const payload = payloadOf('invoice.paid');
    const res = await handler(request(payload, signed(payload)));
    expect(res.statusCode).toBe(503);
  });
});
