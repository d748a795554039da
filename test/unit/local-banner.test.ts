// What `npm start` prints for a newcomer: the URLs, the secret in use (only the development
// default is ever printed) and the Stripe CLI line; what it says when something is in its
// way; and the configuration it refuses before starting anything.
import { describe, expect, it } from 'vitest';
import { alreadyRunningMessage, portInUseMessage, startupBanner } from '../../bin/local/banner';
import { loadLocalConfig, logLevel } from '../../bin/local/config';
import { DEFAULTS } from '../../lambdas/config';
import { REGISTRY } from '../../lambdas/core/registry';

describe('the npm start banner', () => {
  it('prints the webhook URL and the stripe listen line for the port in use', () => {
    const text = startupBanner(
      { port: 4321, secrets: [DEFAULTS.localWebhookSecret], secretFromEnv: false },
      REGISTRY.length,
      3.2,
    );

    expect(text).toContain('POST http://127.0.0.1:4321/webhook');
    expect(text).toContain('stripe listen --forward-to localhost:4321/webhook');
    expect(text).toContain('export STRIPE_WEBHOOK_SECRET=');
  });

  it('prints the development secret when none was supplied', () => {
    const text = startupBanner(
      { port: 3000, secrets: [DEFAULTS.localWebhookSecret], secretFromEnv: false },
      REGISTRY.length,
      3.2,
    );

    expect(text).toContain(DEFAULTS.localWebhookSecret);
  });

  it('prints how a client reaches the table: endpoint, table, region, credentials and the state file', () => {
    const text = startupBanner(
      { port: 3000, secrets: [DEFAULTS.localWebhookSecret], secretFromEnv: false },
      28,
      3.2,
      null,
      {
        dynamoEndpoint: 'http://127.0.0.1:45678',
        tableName: 'sbg-local-billing',
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        stateFile: '.local/stack.json',
      },
    );

    expect(text).toContain(
      'table:    sbg-local-billing at http://127.0.0.1:45678, region us-east-1, access key id local, secret local',
    );
    expect(text).toContain('.local/stack.json has them');
  });

  it('never prints a secret supplied in STRIPE_WEBHOOK_SECRET', () => {
    const supplied = ['whsec_supplied_one', 'whsec_supplied_two'];

    const text = startupBanner(
      { port: 3000, secrets: supplied, secretFromEnv: true },
      REGISTRY.length,
      3.2,
    );

    expect(text).toContain('from STRIPE_WEBHOOK_SECRET');
    expect(text).not.toContain('whsec_supplied');
    expect(text).not.toContain(DEFAULTS.localWebhookSecret);
  });
});

describe('when npm start cannot start', () => {
  it("names this checkout's own running instance when it holds the port", () => {
    const text = portInUseMessage(3000, { pid: 4242, port: 3000 });

    expect(text).toContain("PORT 3000 on 127.0.0.1 is in use by this checkout's own npm start");
    expect(text).toContain('pid 4242');
    expect(text).toContain('kill 4242');
  });

  it('says only that the port is taken when something else holds it', () => {
    expect(portInUseMessage(3000, null)).toBe(
      'PORT 3000 on 127.0.0.1 is already in use; choose another with PORT=<port>',
    );
    expect(portInUseMessage(3000, { pid: 4242, port: 3001 })).not.toContain('4242');
  });

  it('a second instance names the running one, its port and how to stop it', () => {
    const text = alreadyRunningMessage({ pid: 4242, port: 3001 });

    expect(text).toMatch(/^npm start is already running in this checkout \(pid 4242, port 3001/);
    expect(text).toContain('kill 4242');
  });
});

describe('LOG_LEVEL', () => {
  it('defaults to INFO', () => {
    expect(logLevel({})).toBe('INFO');
  });

  it.each(['DEBUG', 'info', 'Warn', 'ERROR', 'silent'])('accepts %s in any letter case', (v) => {
    expect(logLevel({ LOG_LEVEL: v })).toBe(v.toUpperCase());
  });

  it('refuses another word, naming the variable and the accepted values', () => {
    expect(() => loadLocalConfig({ LOG_LEVEL: 'verbose' })).toThrow(
      'LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, SILENT (any letter case), got "verbose"',
    );
  });
});
