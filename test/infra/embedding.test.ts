// A consumer's own CDK app embeds BillingGate in its own stack and gives two of its roles
// the two API access levels: read (billing status, events) and override (PUT, DELETE).

import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { metricNamespace } from '../../lambdas/core/metric-names';
import { BillingGate } from '../../lib/billing-gate';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let stack: Stack;
let gate: BillingGate;
let template: Template;
let provisioning: iam.Role;
let support: iam.Role;
let reader: iam.Role;

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'ConsumerStack', {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  gate = new BillingGate(stack, 'Billing', {
    stage: 'shop',
    stripeMode: 'live',
    enabledEventTypes: ['invoice.payment_failed', 'invoice.paid'],
    customerRateLimit: 40,
    alarmEmail: 'ops@example.com',
  });
  const assumedBy = new iam.ServicePrincipal('ecs-tasks.amazonaws.com');
  provisioning = new iam.Role(stack, 'ProvisioningRole', { assumedBy });
  support = new iam.Role(stack, 'SupportToolRole', { assumedBy });
  reader = new iam.Role(stack, 'TableReaderRole', { assumedBy });
  gate.grantStatusRead(provisioning);
  gate.grantOverride(support);
  gate.grantStatusItemRead(reader);
  template = Template.fromStack(stack);
});

function statementsOf(role: iam.Role): Json[] {
  const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
}

/** The `<method>/<path>` tail of each execute-api ARN a role may invoke. */
function invokableRoutes(role: iam.Role): string[] {
  return statementsOf(role)
    .filter((s) => s.Action === 'execute-api:Invoke')
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
    .map((arn: Json) => {
      const parts = arn['Fn::Join'][1] as unknown[];
      return String(parts[parts.length - 1]);
    })
    .sort();
}

describe('BillingGate embedded in a consumer stack', () => {
  it('builds from typed props: the stage names its queues and metrics namespace', () => {
    // Act
    const queues = Object.values(template.findResources('AWS::SQS::Queue')).map(
      (q) => q.Properties.QueueName,
    );
    const namespaces = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE,
    );

    // Assess
    expect(queues).toContain('sbg-shop-invoice-paid');
    expect(new Set(namespaces)).toEqual(new Set([metricNamespace('shop')]));
    expect(gate.config.stripeMode).toBe('live');
  });

  it('applies the customer throttle from props to every customer route', () => {
    // Act
    const settings = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!
      .Properties.RouteSettings as Json;

    // Assess
    expect(settings['GET /customers/{customerId}/billing-status'].ThrottlingRateLimit).toBe(40);
    expect(settings['POST /webhook'].ThrottlingRateLimit).toBe(100);
  });

  it('grantStatusRead lets a role invoke exactly the three read routes', () => {
    // Assess
    expect(invokableRoutes(provisioning)).toEqual([
      '/$default/GET/customers',
      '/$default/GET/customers/*/billing-status',
      '/$default/GET/customers/*/events',
    ]);
  });

  it('grantOverride lets a role invoke exactly the two override routes', () => {
    // Assess
    expect(invokableRoutes(support)).toEqual([
      '/$default/DELETE/customers/*/override',
      '/$default/PUT/customers/*/override',
    ]);
  });

  it('gives neither role any other action', () => {
    // Act
    const actions = [...statementsOf(provisioning), ...statementsOf(support)].map((s) => s.Action);

    // Assess
    expect(new Set(actions)).toEqual(new Set(['execute-api:Invoke']));
  });

  it('grantStatusItemRead lets a role GetItem status items, the settings item and Accounts v2 aliases only', () => {
    // Assess
    expect(statementsOf(reader)).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: {
          'Fn::GetAtt': [
            stack.getLogicalId(gate.store.table.node.defaultChild as CfnResource),
            'Arn',
          ],
        },
        Condition: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': ['REF#acct_*', 'SETTINGS', 'STATUS#*'],
          },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      },
    ]);
  });

  it('refuses invalid props, naming each', () => {
    // Prepare
    const other = new Stack(new App(), 'Other');

    // Act
    const build = () =>
      new BillingGate(other, 'Gate', {
        stage: 'Prod',
        maxReceiveCount: 0,
        enabledEventTypes: ['invoice.lost'],
      });

    // Assess
    expect(build).toThrow(/stage must be a lowercase name/);
    expect(build).toThrow(/maxReceiveCount must be a whole number from 1 to 1000, got 0/);
    expect(build).toThrow(/enabledEventTypes: unknown event type\(s\) invoice\.lost/);
    expect(other.node.children).toHaveLength(0);
  });
});
