// The HTTP front: one API Gateway HTTP API with the public Stripe endpoint (verifier ->
// queues) and the IAM-authorised customer routes (status API -> table), access-logged.
// Each route has its own throttle, so a flood of webhooks cannot starve the customer
// routes, and callers get one of two access levels: read, or read plus override.
// Without the webhook (events come through EventBridge only) the API serves the customer
// routes alone: no public route, no verifier, no signing secret.

import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogField, AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iamLib from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/lambda-env';
import { GateFunction, type FunctionDefaults } from './gate-function';
import type { Store } from './store';

export const WEBHOOK_PATH = '/webhook';

/** `GET /customers?state=blocked|grace|warned`: who is in trouble (docs/behaviour.md#who-is-in-trouble). */
export const LIST_ROUTE = { method: apigw.HttpMethod.GET, path: '/customers' } as const;

/** The customer routes, by access level. */
export const READ_ROUTES = [
  { method: apigw.HttpMethod.GET, path: '/customers/{customerId}/billing-status' },
  { method: apigw.HttpMethod.GET, path: '/customers/{customerId}/events' },
  LIST_ROUTE,
] as const;
export const OVERRIDE_ROUTES = [
  { method: apigw.HttpMethod.PUT, path: '/customers/{customerId}/override' },
  { method: apigw.HttpMethod.DELETE, path: '/customers/{customerId}/override' },
] as const;

type RouteSpec = { readonly method: apigw.HttpMethod; readonly path: string };

/** `GET /customers/{customerId}/events`: API Gateway's route key. */
export const routeKey = (r: RouteSpec) => `${r.method} ${r.path}`;

export interface Throttle {
  /** Steady requests per second. */
  readonly rateLimit: number;
  /** Burst above the steady rate. */
  readonly burstLimit: number;
}

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
  /** Throttle of `POST /webhook`. */
  readonly webhookThrottle: Throttle;
  /** Throttle of each customer route (each has its own bucket). */
  readonly customerThrottle: Throttle;
  /**
   * Settings shared by every function of the deployment; its `derivation` gives the status
   * API its policy and warning window.
   * @default - GateFunction's defaults
   */
  readonly functionDefaults?: FunctionDefaults;
}

export class Ingress extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** The webhook verifier; undefined when the webhook is off. */
  readonly webhookVerifier: GateFunction | undefined;
  readonly statusApi: GateFunction;
  readonly accessLogs: logs.LogGroup;
  /** The route of each customer route key. */
  readonly customerRoutes: ReadonlyMap<string, apigw.HttpRoute>;

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const webhookSecret = props.webhook === false ? undefined : props.webhookSecret;
    if (props.webhook !== false && !webhookSecret) {
      throw new Error('Ingress: the webhook needs webhookSecret');
    }

    this.webhookVerifier =
      webhookSecret &&
      new GateFunction(this, 'Verifier', {
        ...props.functionDefaults,
        handler: 'verifier',
        description: 'Verifies Stripe webhook signatures and queues events by type',
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
      ...props.functionDefaults,
      handler: 'status-api',
      description:
        'Serves billing statuses, events, overrides and the listing of customers in trouble',
      environment: {
        [ENV.tableName]: props.store.table.tableName,
      },
    });
    props.store.grantStatusApi(this.statusApi.function);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
    });
    // HttpApi has no throttle setting for the stage it would create itself, hence our own;
    // the stage default (the customer limits) covers any route added later.
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Stripe billing gate: webhook endpoint and customer billing status',
      createDefaultStage: false,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.customerThrottle,
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

    const webhookRoutes: apigw.HttpRoute[] = this.webhookVerifier
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
          'Stripe cannot sign AWS requests, so the webhook route is public by design: the verifier authenticates each request by its Stripe-Signature HMAC over the raw body, within the timestamp tolerance, before anything is queued, and the route has its own throttle.',
      });
    }

    const iam = new HttpIamAuthorizer();
    const statusIntegration = new HttpLambdaIntegration(
      'StatusApiIntegration',
      this.statusApi.function,
    );
    const customerRoutes = new Map<string, apigw.HttpRoute>();
    for (const route of [...READ_ROUTES, ...OVERRIDE_ROUTES]) {
      const [added] = this.api.addRoutes({
        path: route.path,
        methods: [route.method],
        integration: statusIntegration,
        authorizer: iam,
      });
      customerRoutes.set(routeKey(route), added!);
    }
    this.customerRoutes = customerRoutes;

    // Route settings: the webhook and every customer route each get a token bucket of
    // their own. CloudFormation resolves route keys when it creates the stage, so the
    // stage must come after the routes ("Unable to find Route by key" otherwise).
    // RouteSettings is a free-form map in the L1, so its keys go to CloudFormation as written.
    const limits = (t: Throttle) => ({
      ThrottlingRateLimit: t.rateLimit,
      ThrottlingBurstLimit: t.burstLimit,
    });
    const cfnStage = this.stage.node.defaultChild as apigw.CfnStage;
    cfnStage.routeSettings = {
      ...(this.webhookVerifier ? { [`POST ${WEBHOOK_PATH}`]: limits(props.webhookThrottle) } : {}),
      ...Object.fromEntries(
        [...customerRoutes.keys()].map((k) => [k, limits(props.customerThrottle)]),
      ),
    };
    for (const route of [...webhookRoutes, ...customerRoutes.values()]) {
      this.stage.node.addDependency(route);
    }
  }

  /** `execute-api:Invoke` ARNs of routes on this API's stage (path parameters match any value). */
  routeArns(routes: readonly RouteSpec[]): string[] {
    const stack = Stack.of(this);
    return routes.map((r) =>
      stack.formatArn({
        service: 'execute-api',
        resource: this.api.apiId,
        resourceName: `${this.stage.stageName}/${r.method}${r.path.replace(/\{[^}]+\}/g, '*')}`,
      }),
    );
  }

  /** Invoke the read routes: billing status and events of any customer, and the listing. */
  grantStatusRead(grantee: iamLib.IGrantable): iamLib.Grant {
    return iamLib.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: this.routeArns(READ_ROUTES),
    });
  }

  /** Invoke the override routes (set and clear an override) of any customer. */
  grantOverride(grantee: iamLib.IGrantable): iamLib.Grant {
    return iamLib.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: this.routeArns(OVERRIDE_ROUTES),
    });
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
