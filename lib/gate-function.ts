// One Lambda function of the billing gate with the project's defaults: Node 24 on arm64,
// bundled by the local esbuild into one minified ESM file with the AWS SDK inside (no
// externals), Lambda's JSON log format with application and system log levels, its own
// log group with retention, its own role, Powertools environment.

import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { METRIC_NAMESPACE } from '../lambdas/core/metric-names';
import type { ApplicationLogLevel, SystemLogLevel } from './config';

/** lambdas/<name>/handler.ts, each exporting `handler`. */
export type HandlerName = 'verifier' | 'processor' | 'status-api' | 'notifier' | 'sweeper';

export function handlerEntry(name: HandlerName): string {
  return fileURLToPath(new URL(`../lambdas/${name}/handler.ts`, import.meta.url));
}

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * How every function is built, in esbuild's terms, so the bench (bin/bench/load-time.ts)
 * builds exactly what ships. The AWS SDK is bundled: a bundled, tree-shaken, minified
 * client loads in well under half the time of the runtime's copy resolved from
 * node_modules, and the function runs the SDK version it was tested with.
 */
export const ESBUILD_SHAPE = {
  target: 'node24',
  format: 'esm',
  platform: 'node',
  minify: true,
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may still call require() for Node built-ins.
  banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  external: [] as string[],
} as const;

const BUNDLING: BundlingOptions = {
  minify: ESBUILD_SHAPE.minify,
  // No source maps: they would double the asset and, with --enable-source-maps, slow every
  // cold start; errors are logged by name and message, which the minifier keeps.
  sourceMap: false,
  target: ESBUILD_SHAPE.target,
  format: OutputFormat.ESM,
  mainFields: [...ESBUILD_SHAPE.mainFields],
  banner: ESBUILD_SHAPE.banner,
  // Nothing external, not even @aws-sdk/* (which the CDK leaves to the runtime by default).
  externalModules: [...ESBUILD_SHAPE.external],
};

export interface GateFunctionProps {
  /** Which handler the function runs; also its Powertools service name. */
  readonly handler: HandlerName;
  /** Environment variables (names from lambdas/lambda-env.ts); never secret values. */
  readonly environment?: Record<string, string>;
  /** CloudWatch namespace of the function's business metrics. @default 'StripeBillingGate' */
  readonly metricsNamespace?: string;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** The lowest level of the function's own log lines that is kept. @default 'INFO' */
  readonly applicationLogLevel?: ApplicationLogLevel;
  /** The lowest level of Lambda's platform lines that is kept. @default 'WARN' */
  readonly systemLogLevel?: SystemLogLevel;
  /** Shown in the console next to the generated function name. */
  readonly description?: string;
}

/** The settings every function of one deployment shares. */
export type FunctionDefaults = Pick<
  GateFunctionProps,
  'metricsNamespace' | 'tracing' | 'applicationLogLevel' | 'systemLogLevel' | 'logRetention'
>;

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
      // JSON lines let Lambda filter by level: the application level (Powertools follows
      // it through AWS_LAMBDA_LOG_LEVEL) and the system level, where WARN drops the
      // START/END/REPORT lines of every invocation.
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel[props.applicationLogLevel ?? 'INFO'],
      systemLogLevelV2: lambda.SystemLogLevel[props.systemLogLevel ?? 'WARN'],
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      ...(props.description ? { description: props.description } : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.handler,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? METRIC_NAMESPACE,
        ...props.environment,
      },
      bundling: BUNDLING,
    });
  }
}
