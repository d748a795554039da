// The HTTP front: one API Gateway HTTP API with the public Stripe endpoint (verifier ->
// queues) and the IAM-authorised customer routes (status API -> table), access-logged.
// Without the webhook (events come through EventBridge only) the API serves the customer
// routes alone: no public route, no verifier, no signing secret.

import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogField, AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/lambda-env';
import { GateFunction } from './gate-function';
import type { Store } from './store';

export const WEBHOOK_PATH = '/webhook';

export interface IngressProps {
  /** The public Stripe webhook route and its verifier. @default true */
  readonly webhook?: boolean;
  /** Every processor queue; the verifier may send to these and nothing else. */
  readonly queues: readonly sqs.Queue[];
  /** See Processing.queueUrlPrefix. */
  readonly queueUrlPrefix: string;
  readonly enabledEventTypes: readonly string[];
  /** The verifier's signing secrets; required with the webhook. */
  readonly webhookSecret?: secretsmanager.ISecret;
  readonly store: Store;
  readonly stripeMode: 'live' | 'test' | null;
  readonly signatureToleranceSeconds: number;
  readonly expiryWarningDays: number;
  /** Steady requests per second of the stage. */
  readonly rateLimit: number;
  /** Burst above the steady rate. */
  readonly burstLimit: number;
  /** @default false */
  readonly tracing?: boolean;
}

export class Ingress extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** The webhook verifier; undefined when the webhook is off. */
  readonly webhookVerifier: GateFunction | undefined;
  readonly statusApi: GateFunction;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const webhookSecret = props.webhook === false ? undefined : props.webhookSecret;
    if (props.webhook !== false && !webhookSecret) {
      throw new Error('Ingress: the webhook needs webhookSecret');
    }

    this.webhookVerifier =
      webhookSecret &&
      new GateFunction(this, 'Verifier', {
        handler: 'verifier',
        description: 'Verifies Stripe webhook signatures and queues events by type',
        tracing: props.tracing ?? false,
        environment: {
          [ENV.queueUrlPrefix]: props.queueUrlPrefix,
          [ENV.enabledEventTypes]: props.enabledEventTypes.join(','),
          [ENV.webhookSecretArn]: webhookSecret.secretArn,
          [ENV.tolerance]: String(props.signatureToleranceSeconds),
          ...(props.stripeMode ? { [ENV.stripeMode]: props.stripeMode } : {}),
        },
      });
    if (this.webhookVerifier) {
      for (const queue of props.queues) queue.grants.sendMessages(this.webhookVerifier.function);
      webhookSecret?.grantRead(this.webhookVerifier.function);
    }

    this.statusApi = new GateFunction(this, 'StatusApi', {
      handler: 'status-api',
      description: 'Serves billing statuses, events and overrides',
      tracing: props.tracing ?? false,
      environment: {
        [ENV.tableName]: props.store.table.tableName,
        [ENV.expiryWarningDays]: String(props.expiryWarningDays),
      },
    });
    props.store.grantStatusApi(this.statusApi.function);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
    });
    // HttpApi has no throttle setting for the stage it would create itself, hence our own.
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Stripe billing gate: webhook endpoint and customer billing status',
      createDefaultStage: false,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        // Ids, route, status and timings; never headers or bodies.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            requestTime: AccessLogField.contextRequestTime(),
            sourceIp: AccessLogField.contextIdentitySourceIp(),
            routeKey: '$context.routeKey',
            status: AccessLogField.contextStatus(),
            responseLength: AccessLogField.contextResponseLength(),
            responseLatency: AccessLogField.contextResponseLatency(),
            integrationStatus: '$context.integrationStatus',
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            error: AccessLogField.contextErrorMessage(),
            caller: AccessLogField.contextIdentityUserArn(),
          }),
        ),
      },
    });

    const webhookRoutes = this.webhookVerifier
      ? this.api.addRoutes({
          path: WEBHOOK_PATH,
          methods: [apigw.HttpMethod.POST],
          integration: new HttpLambdaIntegration(
            'VerifierIntegration',
            this.webhookVerifier.function,
            { timeout: Duration.seconds(29) },
          ),
        })
      : [];
    for (const route of webhookRoutes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Stripe cannot sign AWS requests: the webhook route is public by design, and the verifier authenticates each request by its Stripe-Signature HMAC before anything is queued (CONTRACT section 3).',
      });
    }

    const iam = new HttpIamAuthorizer();
    const statusIntegration = new HttpLambdaIntegration(
      'StatusApiIntegration',
      this.statusApi.function,
    );
    const customerRoutes: Array<[string, apigw.HttpMethod]> = [
      ['/customers/{customerId}/billing-status', apigw.HttpMethod.GET],
      ['/customers/{customerId}/events', apigw.HttpMethod.GET],
      ['/customers/{customerId}/override', apigw.HttpMethod.PUT],
      ['/customers/{customerId}/override', apigw.HttpMethod.DELETE],
    ];
    for (const [path, method] of customerRoutes) {
      this.api.addRoutes({
        path,
        methods: [method],
        integration: statusIntegration,
        authorizer: iam,
      });
    }
  }

  /** The webhook verifier; throws when the webhook is off (see webhookVerifier). */
  get verifier(): GateFunction {
    if (!this.webhookVerifier) throw new Error('this stack has no webhook verifier (ingress)');
    return this.webhookVerifier;
  }

  /** `https://<api>.execute-api.<region>.<suffix>/webhook`: the URL to register in Stripe. */
  get webhookUrl(): string {
    return `${this.stage.url}${WEBHOOK_PATH.slice(1)}`;
  }

  /** Base URL of the customer routes (ends with a slash). */
  get apiUrl(): string {
    return this.stage.url;
  }
}
