// verifyStripeSignature against headers made by the stripe package itself
// (generateTestHeaderString), one case of docs/behaviour.md#the-webhook-verifier per test.
import { describe, expect, it } from 'vitest';
import { loadLocalConfig } from '../../bin/local/config';
import { buildEvent, signatureHeader } from '../../bin/events/stripe-events';
import { NoMatchingSignatureError, verifyStripeSignature } from '../../lambdas/adapters/signature';
import { DEFAULTS } from '../../lambdas/config';
import { ConfigError, SignatureError } from '../../lambdas/core/errors';

const SECRET = 'whsec_test_primary';
const ROTATED = 'whsec_test_rotated';
const NOW = 1_800_000_000;
const payload = JSON.stringify(buildEvent('invoice.paid'), null, 2);

function verify(
  rawBody: string | Buffer,
  header: string | undefined,
  { secrets = [SECRET] as readonly string[], now = NOW, tolerance = 300 } = {},
) {
  verifyStripeSignature({ rawBody, header, secrets, toleranceSeconds: tolerance, nowSeconds: now });
}

/** The hex `v1` value of a header made by the stripe package. */
const v1Of = (header: string) => /v1=([0-9a-f]{64})/.exec(header)![1]!;

const failure = (act: () => void): Error => {
  try {
    act();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
};

describe('verifyStripeSignature', () => {
  it('accepts a payload signed by the stripe package', () => {
    const header = signatureHeader(payload, SECRET, NOW);

    expect(() => verify(payload, header)).not.toThrow();
  });

  it('accepts the same payload handed over as bytes', () => {
    const header = signatureHeader(payload, SECRET, NOW);

    expect(() => verify(Buffer.from(payload, 'utf8'), header)).not.toThrow();
  });

  it.each([undefined, '', '   '])('rejects a missing header (%j)', (header) => {
    expect(() => verify(payload, header)).toThrow(/missing Stripe-Signature header/);
  });

  it.each([
    ['no timestamp', `v1=${v1Of(signatureHeader(payload, SECRET, NOW))}`, /no timestamp/],
    ['a non-numeric timestamp', `t=soon,v1=${'a'.repeat(64)}`, /"t" is not a unix time/],
    ['a negative timestamp', `t=-5,v1=${'a'.repeat(64)}`, /"t" is not a unix time/],
    ['no v1 entry', `t=${NOW}`, /no "v1" signature/],
    ['a v1 that is not hex', `t=${NOW},v1=${'z'.repeat(64)}`, /no "v1" signature/],
    ['a v1 of the wrong length', `t=${NOW},v1=abcd`, /no "v1" signature/],
    ['garbage', 'not a header', /no timestamp/],
  ])('rejects a malformed header: %s', (_name, header, reason) => {
    const err = failure(() => verify(payload, header));

    expect(err).toBeInstanceOf(SignatureError);
    expect(err.message).toMatch(reason);
  });

  it('rejects a signature made with another secret as "no match"', () => {
    const header = signatureHeader(payload, 'whsec_attacker', NOW);

    const err = failure(() => verify(payload, header));

    expect(err).toBeInstanceOf(NoMatchingSignatureError);
    expect(err.message).toMatch(/no signature matches/);
  });

  it('accepts the header when any one of several v1 entries matches', () => {
    const wrong = v1Of(signatureHeader(payload, 'whsec_other', NOW));
    const right = v1Of(signatureHeader(payload, SECRET, NOW));
    const header = `t=${NOW},v1=${wrong},v1=${right}`;

    expect(() => verify(payload, header)).not.toThrow();
  });

  it('ignores a v0 entry even when it carries a valid signature', () => {
    const valid = v1Of(signatureHeader(payload, SECRET, NOW));
    const header = `t=${NOW},v0=${valid},v1=${'0'.repeat(64)}`;

    expect(() => verify(payload, header)).toThrow(NoMatchingSignatureError);
  });

  it('accepts entries in any order and with spaces after the commas', () => {
    const valid = v1Of(signatureHeader(payload, SECRET, NOW));
    const header = `v0=${'1'.repeat(64)}, v1=${valid}, t=${NOW}`;

    expect(() => verify(payload, header)).not.toThrow();
  });

  it('accepts a signature valid under any configured secret (rotation)', () => {
    const header = signatureHeader(payload, ROTATED, NOW);

    expect(() => verify(payload, header, { secrets: [SECRET, ROTATED] })).not.toThrow();
  });

  it('accepts a timestamp exactly at the tolerance, in the past and in the future', () => {
    expect(() => verify(payload, signatureHeader(payload, SECRET, NOW - 300))).not.toThrow();
    expect(() => verify(payload, signatureHeader(payload, SECRET, NOW + 300))).not.toThrow();
  });

  it('rejects a timestamp beyond the tolerance in the past', () => {
    const header = signatureHeader(payload, SECRET, NOW - 301);

    expect(() => verify(payload, header)).toThrow(/outside the tolerance/);
  });

  it('rejects a timestamp beyond the tolerance in the future', () => {
    const header = signatureHeader(payload, SECRET, NOW + 301);

    expect(() => verify(payload, header)).toThrow(/outside the tolerance/);
  });

  it('applies the configured tolerance', () => {
    const header = signatureHeader(payload, SECRET, NOW - 3000);

    expect(() => verify(payload, header, { tolerance: 3600 })).not.toThrow();
  });

  it('fails when a signed pretty-printed payload is re-serialised before verification', () => {
    const header = signatureHeader(payload, SECRET, NOW);
    const reserialised = JSON.stringify(JSON.parse(payload));

    expect(reserialised).not.toBe(payload);
    expect(() => verify(reserialised, header)).toThrow(NoMatchingSignatureError);
  });

  it('verifies a non-ASCII payload over its exact UTF-8 bytes', () => {
    const unicode = JSON.stringify(
      buildEvent('customer.updated', { object: { name: 'Zoë Ångström — 東京 🚀' } }),
    );
    const header = signatureHeader(unicode, SECRET, NOW);

    expect(() => verify(unicode, header)).not.toThrow();
    expect(() => verify(Buffer.from(unicode, 'utf8'), header)).not.toThrow();
    expect(() => verify(Buffer.from(unicode, 'latin1'), header)).toThrow(SignatureError);
  });

  it('never puts a secret or the body in its reasons', () => {
    const headers = [
      undefined,
      'x',
      `t=${NOW}`,
      signatureHeader(payload, 'whsec_other', NOW),
      signatureHeader(payload, SECRET, NOW - 10_000),
    ];

    const messages = headers.map((h) => failure(() => verify(payload, h)).message);

    for (const message of messages) {
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain('invoice');
    }
  });
});

describe('STRIPE_WEBHOOK_SECRET at start-up', () => {
  it('trims a trailing newline and whitespace, and the trimmed secret verifies', () => {
    const { secrets } = loadLocalConfig({ STRIPE_WEBHOOK_SECRET: `  ${SECRET} \n` });

    expect(secrets).toEqual([SECRET]);
    expect(() => verify(payload, signatureHeader(payload, SECRET, NOW), { secrets })).not.toThrow();
  });

  it('accepts several comma-separated secrets for rotation', () => {
    const { secrets } = loadLocalConfig({ STRIPE_WEBHOOK_SECRET: `${SECRET}, ${ROTATED}\n` });

    expect(() =>
      verify(payload, signatureHeader(payload, ROTATED, NOW), { secrets }),
    ).not.toThrow();
  });

  it('refuses a value that is not a signing secret, naming the variable but not the value', () => {
    const err = failure(() => loadLocalConfig({ STRIPE_WEBHOOK_SECRET: 'sk_test_oops' }));

    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/STRIPE_WEBHOOK_SECRET.*not a Stripe signing secret.*whsec_/);
    expect(err.message).not.toContain('sk_test_oops');
  });

  it('uses the printed development secret when the variable is unset', () => {
    const config = loadLocalConfig({});

    expect(config.secretFromEnv).toBe(false);
    expect(config.secrets).toEqual([DEFAULTS.localWebhookSecret]);
  });
});
