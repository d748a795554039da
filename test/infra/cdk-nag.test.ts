// cdk-nag's AWS Solutions checks, attached by the app itself as a validation plugin
// (cdk-nag 3): synth leaves no unacknowledged error or warning, and every acknowledgement
// is a reviewed, reasoned exception.

import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { billingGateApp, reportedViolations, synthesizeBillingGate } from './synth-billing-gate';

let stack: BillingGateStack;
let assembly: CloudAssembly;

beforeAll(() => {
  ({ stack, assembly } = synthesizeBillingGate());
});

/** Every acknowledgement recorded in the tree: rule id, reason and where. */
function acknowledgements(root: IConstruct): Array<{ id: string; reason: string; path: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: c.node.path,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  it('report no unacknowledged error or warning on the full stack', () => {
    // Act
    const violations = reportedViolations(assembly);

    // Assess
    expect(violations).toEqual([]);
  });

  it('are attached by the app, so a non-compliant resource fails synth', () => {
    // Prepare: the same app wiring, plus a queue that accepts plain HTTP.
    const { app, stack: other } = billingGateApp({ enabledEventTypes: 'invoice.paid' });
    new sqs.Queue(other, 'PlainHttpQueue', { enforceSSL: false, maxMessageSizeBytes: 1_048_576 });

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).toThrow(/AwsSolutions-SQS4/);
  });

  it('are acknowledged only for the reviewed exceptions', () => {
    // Act
    const ids = new Set(acknowledgements(stack).map((a) => a.id.replace(/\[.*\]$/, '[…]')));

    // Assess
    expect([...ids].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[…]',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
  });

  it('accept the runtime as it is: no acknowledgement of an outdated Lambda runtime', () => {
    // Act
    const ids = acknowledgements(stack).map((a) => a.id);

    // Assess
    expect(ids).not.toContain('AwsSolutions-L1');
  });

  it('acknowledge wildcards in the access policies only for the {customerId} of their own routes', () => {
    // Act
    const onPolicies = acknowledgements(stack).filter((a) => a.path.includes('Policy'));

    // Assess
    expect(
      onPolicies.map((a) => a.id.replace(/^.*\/\$default\//, '').replace(/\]$/, '')).sort(),
    ).toEqual([
      'DELETE/customers/*/override',
      'GET/customers/*/billing-status',
      'GET/customers/*/events',
      'PUT/customers/*/override',
    ]);
  });

  it('narrow every IAM5 acknowledgement to one named finding', () => {
    // Act
    const iam5 = acknowledgements(stack).filter((a) => a.id.startsWith('AwsSolutions-IAM5'));

    // Assess
    expect(iam5.length).toBeGreaterThan(0);
    for (const a of iam5) expect(a.id).toMatch(/^AwsSolutions-IAM5\[(Action|Resource)::.+\]$/);
  });

  it('give every acknowledgement a written reason', () => {
    // Act
    const all = acknowledgements(stack);

    // Assess
    expect(all.length).toBeGreaterThan(0);
    for (const a of all)
      expect(a.reason.split(' ').length, `${a.id} at ${a.path}`).toBeGreaterThan(8);
  });

  it('acknowledge the public webhook route only, not the customer routes', () => {
    // Act
    const apig4 = acknowledgements(stack).filter((a) => a.id === 'AwsSolutions-APIG4');

    // Assess
    expect(apig4.map((a) => a.path)).toEqual([`${stack.stackName}/Gate/Ingress/Api/POST--webhook`]);
  });
});
