import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildEvent, signatureHeader } from '../../bin/stripe-events';
import { parseWebhookSecrets } from '../../lambdas/config';
import { SignatureError } from '../../lambdas/core/errors';
import { verifyStripeSignature } from '../../lambdas/adapters/signature';

const SECRET = 'whsec_test_primary';
const OTHER = 'whsec_test_rotated';
const NOW = 1_800_000_000;
const payload = JSON.stringify(buildEvent('invoice.paid'), null, 2);

const verify = (
  rawBody: string | Buffer,
  header: string | undefined,
  { secrets = [SECRET], now = NOW, tolerance = 300 } = {},
) =>
  verifyStripeSignature({
    rawBody,
    header,
    secrets,
    toleranceSeconds: tolerance,
    nowSeconds: now,
  });

const hmac = (t: number, body: string, secret: string) =>
  createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');

describe('verifyStripeSignature', () => {
  it('accepts a payload signed by the stripe package, as text or as bytes', () => {
    const header = signatureHeader(payload, SECRET, NOW);
    expect(() => verify(payload, header)).not.toThrow();
    expect(() => verify(Buffer.from(payload), header)).not.toThrow();
  });

  it('rejects a missing header', () => {
    expect(() => verify(payload, undefined)).toThrow(/missing Stripe-Signature/);
  });

  it.each([
    ['no timestamp', `v1=${'a'.repeat(64)}`],
    ['no v1 entry', `t=${NOW},v0=${'a'.repeat(64)}`],
    ['a non-numeric timestamp', `t=soon,v1=${'a'.repeat(64)}`],
    ['garbage', 'not a header'],
  ])('rejects a malformed header: %s', (_name, header) => {
    expect(() => verify(payload, header)).toThrow(SignatureError);
  });

  it('rejects a signature made with another secret', () => {
    expect(() => verify(payload, signatureHeader(payload, 'whsec_attacker', NOW))).toThrow(
      /no signature matches/,
    );
  });

  it('accepts any matching v1 among several, and ignores v0', () => {
    const header = `t=${NOW},v0=${hmac(NOW, payload, SECRET)},v1=${'0'.repeat(64)},v1=${hmac(NOW, payload, SECRET)}`;
    expect(() => verify(payload, header)).not.toThrow();
    const onlyV0 = `t=${NOW},v0=${hmac(NOW, payload, SECRET)},v1=${'0'.repeat(64)}`;
    expect(() => verify(payload, onlyV0)).toThrow(SignatureError);
  });

  it('accepts a signature valid under any configured secret (rotation)', () => {
    const header = signatureHeader(payload, OTHER, NOW);
    expect(() => verify(payload, header, { secrets: [SECRET, OTHER] })).not.toThrow();
  });

  it('rejects timestamps beyond the tolerance, in the past and in the future', () => {
    expect(() => verify(payload, signatureHeader(payload, SECRET, NOW - 301))).toThrow(/tolerance/);
    expect(() => verify(payload, signatureHeader(payload, SECRET, NOW + 301))).toThrow(/tolerance/);
    expect(() => verify(payload, signatureHeader(payload, SECRET, NOW - 300))).not.toThrow();
    expect(() =>
      verify(payload, signatureHeader(payload, SECRET, NOW - 3000), { tolerance: 3600 }),
    ).not.toThrow();
  });

  it('fails when the signed pretty-printed payload is re-serialised before verification', () => {
    const header = signatureHeader(payload, SECRET, NOW);
    expect(() => verify(JSON.stringify(JSON.parse(payload)), header)).toThrow(SignatureError);
  });

  it('verifies non-ASCII payloads over their exact UTF-8 bytes', () => {
    const unicode = JSON.stringify(
      buildEvent('customer.updated', { object: { name: 'Zoë Ångström — 東京 🚀' } }),
    );
    const header = signatureHeader(unicode, SECRET, NOW);
    expect(() => verify(unicode, header)).not.toThrow();
    expect(() => verify(Buffer.from(unicode, 'utf8'), header)).not.toThrow();
    expect(() => verify(Buffer.from(unicode, 'latin1'), header)).toThrow(SignatureError);
  });

  it('never puts a secret or the body in its reasons', () => {
    for (const header of [undefined, 'x', signatureHeader(payload, 'whsec_other', NOW)]) {
      try {
        verify(payload, header);
        expect.unreachable();
      } catch (err) {
        expect((err as Error).message).not.toContain(SECRET);
        expect((err as Error).message).not.toContain('invoice');
      }
    }
  });
});

describe('parseWebhookSecrets', () => {
  it('trims whitespace and newlines around pasted secrets and accepts several', () => {
    expect(parseWebhookSecrets(' whsec_abc \n, whsec_def\n')).toEqual(['whsec_abc', 'whsec_def']);
  });

  it('refuses a value that is not a signing secret, naming the variable but not the value', () => {
    expect(() => parseWebhookSecrets('sk_test_oops')).toThrow(/STRIPE_WEBHOOK_SECRET/);
    try {
      parseWebhookSecrets('sk_test_oops');
    } catch (err) {
      expect((err as Error).message).not.toContain('sk_test_oops');
    }
  });
});
