// What `npm start` prints for a newcomer: the URLs, the secret in use (only the development
// default is ever printed) and the Stripe CLI line.
import { describe, expect, it } from 'vitest';
import { startupBanner } from '../../bin/local/banner';
import { DEFAULTS } from '../../lambdas/config';

describe('the npm start banner', () => {
  it('prints the webhook URL and the stripe listen line for the port in use', () => {
    const text = startupBanner(
      { port: 4321, secrets: [DEFAULTS.localWebhookSecret], secretFromEnv: false },
      28,
      3.2,
    );

    expect(text).toContain('POST http://127.0.0.1:4321/webhook');
    expect(text).toContain('stripe listen --forward-to localhost:4321/webhook');
    expect(text).toContain('export STRIPE_WEBHOOK_SECRET=');
  });

  it('prints the development secret when none was supplied', () => {
    const text = startupBanner(
      { port: 3000, secrets: [DEFAULTS.localWebhookSecret], secretFromEnv: false },
      28,
      3.2,
    );

    expect(text).toContain(DEFAULTS.localWebhookSecret);
  });

  it('never prints a secret supplied in STRIPE_WEBHOOK_SECRET', () => {
    const supplied = ['whsec_supplied_one', 'whsec_supplied_two'];

    const text = startupBanner({ port: 3000, secrets: supplied, secretFromEnv: true }, 28, 3.2);

    expect(text).toContain('from STRIPE_WEBHOOK_SECRET');
    expect(text).not.toContain('whsec_supplied');
    expect(text).not.toContain(DEFAULTS.localWebhookSecret);
  });
});
