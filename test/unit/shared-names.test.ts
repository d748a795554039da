// Names that other parts of the project rely on, defined once in lambdas/core: the customer
// id the routes, commands and client accept; each stage's metric namespace; the list of
// enabled event types each caller gets.
import { describe, expect, it } from 'vitest';
import { METRIC_NAMESPACE, metricNamespace } from '../../lambdas/core/metric-names';
import { HANDLED_TYPES, REGISTRY, parseEnabledTypes } from '../../lambdas/core/registry';
import { CUSTOMER_ID } from '../../lambdas/core/stripe-event';

describe('customer ids', () => {
  it.each(['cus_A', 'cus_9', 'cus_NffrFeUfNV2Hib', 'cus_abcXYZ0123456789'])('accepts %s', (id) => {
    expect(CUSTOMER_ID.test(id)).toBe(true);
  });

  it.each([
    'cus_',
    'cus',
    'CUS_A',
    'xcus_A',
    ' cus_A',
    'cus_A ',
    'cus_A/events',
    'cus_A-B',
    'cus_A_B',
    'cus_é',
    'acct_1',
    '',
  ])('refuses %j', (id) => {
    expect(CUSTOMER_ID.test(id)).toBe(false);
  });
});

describe('metric namespaces', () => {
  it('gives each stage its own namespace under the project root', () => {
    expect(METRIC_NAMESPACE).toBe('StripeBillingGate');
    expect(metricNamespace('prod')).toBe('StripeBillingGate/prod');
    expect(metricNamespace('dev')).not.toBe(metricNamespace('prod'));
  });
});

describe('enabled event types', () => {
  it('gives each caller its own list: changing one changes no other', () => {
    const first = parseEnabledTypes(undefined);
    first.length = 0;
    expect(parseEnabledTypes(undefined)).toHaveLength(REGISTRY.length);
    expect(HANDLED_TYPES).toHaveLength(REGISTRY.length);
  });
});
