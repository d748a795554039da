// One Lambda function of the billing gate with the project's defaults: Node 22 on arm64,
// bundled by the local esbuild (ESM, minified, source maps, the runtime's AWS SDK left
// external), its own log group with retention, its own role, Powertools environment.

import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { METRIC_NAMESPACE } from '../lambdas/core/metric-names';

/** lambdas/<name>/handler.ts, each exporting `handler`. */
export type HandlerName = 'verifier' | 'processor' | 'status-api' | 'notifier' | 'sweeper';

export function handlerEntry(name: HandlerName): string {
  return fileURLToPath(new URL(`../lambdas/${name}/handler.ts`, import.meta.url));
}

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface GateFunctionProps {
  /** Which handler the function runs; also its Powertools service name. */
  readonly handler: HandlerName;
  /** Environment variables (names from lambdas/lambda-env.ts); never secret values. */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Shown in the console next to the generated function name. */
  readonly description?: string;
}

export class GateFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GateFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    // An own role instead of the managed AWSLambdaBasicExecutionRole: the function may
    // write to its own log group only, and every other right comes from a grant.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${Stack.of(this).stackName} ${props.handler} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handler),
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      ...(props.description ? { description: props.description } : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.handler,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
        LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        target: 'node22',
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies may still call require() for Node built-ins.
        banner:
          "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
        // The Node 22 runtime provides AWS SDK v3; bundling it would only add weight.
        externalModules: ['@aws-sdk/*'],
      },
    });
  }
}
