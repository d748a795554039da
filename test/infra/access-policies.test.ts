// The three managed access policies of the default stack (read, override, status items) and
// that no role of the stack holds them.

import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  SETTINGS_KEY,
  factKey,
  overflowPk,
  overridesPk,
  ownerKey,
  parkKey,
  statusKey,
} from '../../lambdas/adapters/table-layout';
import {
  asArray,
  logicalId,
  ofType,
  resourceOf,
  stack,
  template,
  useDefaultStack,
  type Json,
} from './default-stack';

useDefaultStack();

describe('access policies', () => {
  function managedPolicy(construct: IConstruct): Json[] {
    return (resourceOf(construct).Properties.PolicyDocument.Statement as Json[]).map((s) => ({
      ...s,
      Action: asArray(s.Action),
      Resource: asArray(s.Resource),
    }));
  }
  const routeArn = (methodAndPath: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':execute-api:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':',
        { Ref: logicalId(stack.gate.ingress.api) },
        `/$default/${methodAndPath}`,
      ],
    ],
  });

  it('lets the read policy invoke GET billing-status, GET events and GET customers (the listing) only', () => {
    // Assess
    expect(managedPolicy(stack.gate.apiReadPolicy)[0]?.Resource).toHaveLength(3);
    expect(managedPolicy(stack.gate.apiReadPolicy)).toEqual([
      {
        Effect: 'Allow',
        Action: ['execute-api:Invoke'],
        Resource: expect.arrayContaining([
          routeArn('GET/customers/*/billing-status'),
          routeArn('GET/customers/*/events'),
          routeArn('GET/customers'),
        ]),
      },
    ]);
  });

  it('lets the override policy invoke PUT and DELETE override only', () => {
    // Assess
    expect(managedPolicy(stack.gate.apiOverridePolicy)[0]?.Resource).toHaveLength(2);
    expect(managedPolicy(stack.gate.apiOverridePolicy)).toEqual([
      {
        Effect: 'Allow',
        Action: ['execute-api:Invoke'],
        Resource: expect.arrayContaining([
          routeArn('PUT/customers/*/override'),
          routeArn('DELETE/customers/*/override'),
        ]),
      },
    ]);
  });

  it('lets the status reader policy GetItem status items, the settings item and acct_ alias items, nothing else', () => {
    // Assess
    expect(managedPolicy(stack.gate.statusReaderPolicy)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem'],
        Resource: [{ 'Fn::GetAtt': [logicalId(stack.gate.store.table), 'Arn'] }],
        Condition: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': ['REF#acct_*', 'SETTINGS', 'STATUS#*'],
          },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      },
    ]);
  });

  it('covers every key the client reads, and no key of another item family', () => {
    // Prepare
    const patterns = managedPolicy(stack.gate.statusReaderPolicy)[0]!.Condition[
      'ForAllValues:StringLike'
    ]['dynamodb:LeadingKeys'] as string[];
    const allowed = (pk: string) =>
      patterns.some((p) =>
        new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(pk),
      );

    // Act: the partition keys of the client's three GetItems (client/src/billing-gate.ts)
    const read = [statusKey('cus_A1').pk, SETTINGS_KEY.pk, ownerKey('acct_A1').pk];
    const others = [
      factKey('cus_A1', 'pi_1', 'evt_1').pk,
      overridesPk('cus_A1'),
      overflowPk('cus_A1'),
      ownerKey('pm_1').pk,
      ownerKey('ch_1').pk,
      parkKey('evt_1').pk,
      `${SETTINGS_KEY.pk}X`,
    ];

    // Assess
    expect(read.filter((pk) => !allowed(pk))).toEqual([]);
    expect(others.filter(allowed)).toEqual([]);
  });

  it('attaches none of the three to any role of the stack', () => {
    // Assess
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 3);
    for (const [, p] of ofType('AWS::IAM::ManagedPolicy')) {
      expect(p.Properties.Roles).toBeUndefined();
    }
  });
});
