// The HTTP API of the default stack: the public webhook route, the IAM-authorised customer
// routes, access logs and a throttle per route.

import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { asArray, logicalId, ofType, stack, template, useDefaultStack } from './default-stack';

useDefaultStack();

describe('HTTP API', () => {
  it('routes POST /webhook publicly to the verifier', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /webhook',
      AuthorizationType: 'NONE',
    });
  });

  it('requires IAM authorisation on every customer route', () => {
    // Act
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);

    // Assess
    expect(
      routes
        .filter((r) => r.RouteKey !== 'POST /webhook')
        .map((r) => [r.RouteKey, r.AuthorizationType])
        .sort(),
    ).toEqual([
      ['DELETE /customers/{customerId}/override', 'AWS_IAM'],
      ['GET /customers', 'AWS_IAM'],
      ['GET /customers/{customerId}/billing-status', 'AWS_IAM'],
      ['GET /customers/{customerId}/events', 'AWS_IAM'],
      ['PUT /customers/{customerId}/override', 'AWS_IAM'],
    ]);
  });

  it('writes access logs of the $default stage to CloudWatch Logs', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack.gate.ingress.accessLogs), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context.requestId'),
      },
    });
  });

  it('gives the webhook and each customer route a throttle of its own', () => {
    // Act
    const stage = ofType('AWS::ApiGatewayV2::Stage')[0]![1];
    const routeKeys = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);

    // Assess
    const customer = { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 };
    expect(stage.Properties.RouteSettings).toEqual({
      'POST /webhook': { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      'GET /customers/{customerId}/billing-status': customer,
      'GET /customers/{customerId}/events': customer,
      'GET /customers': customer,
      'PUT /customers/{customerId}/override': customer,
      'DELETE /customers/{customerId}/override': customer,
    });
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual(routeKeys.sort());
    expect(stage.Properties.DefaultRouteSettings).toEqual(customer);
  });

  it('creates the stage after every route, so CloudFormation finds each route key', () => {
    // Act
    const [, stage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    const routeIds = ofType('AWS::ApiGatewayV2::Route').map(([id]) => id);

    // Assess
    expect(routeIds).toHaveLength(6);
    expect(asArray(stage.DependsOn ?? [])).toEqual(expect.arrayContaining(routeIds));
  });
});
