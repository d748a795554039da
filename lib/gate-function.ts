// One Lambda function of the billing gate with the project's defaults: Node 24 on arm64,
// its code one minified ESM file with the AWS SDK inside (no externals), prebuilt by
// `npm run build` (build.ts) into dist/functions/<handler>/index.mjs, which the package
// ships; Lambda's JSON log format with application and system log levels, its own log group
// with retention and its own role unless it is given shared ones, Powertools environment.

import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { METRIC_NAMESPACE } from '../lambdas/core/metric-names';
import type { PolicyDocument } from '../lambdas/core/policy';
import { ENV } from '../lambdas/lambda-env';
import type { ApplicationLogLevel, SystemLogLevel } from './config';

/** lambdas/<name>/handler.ts, each exporting `handler`. */
export type HandlerName = 'verifier' | 'processor' | 'status-api' | 'notifier' | 'sweeper';

/** The handlers that derive a billing status: each is told the deployment's Derivation. */
export const DERIVES_STATUS: readonly HandlerName[] = [
  'processor',
  'status-api',
  'notifier',
  'sweeper',
];

/** What every reader derives a status by (lambdas/settings.ts reads it back). */
export interface Derivation {
  /** The access policy, canonical (lambdas/core/policy.ts policyDocument). */
  readonly policy: PolicyDocument;
  /** Days before its expiry a card counts as expiring. */
  readonly expiryWarningDays: number;
}

/** GATE_POLICY and EXPIRY_WARNING_DAYS of a function that derives a status. */
export function derivationEnvironment(derivation: Derivation): Record<string, string> {
  return {
    [ENV.policy]: JSON.stringify(derivation.policy),
    [ENV.expiryWarningDays]: String(derivation.expiryWarningDays),
  };
}

export function handlerEntry(name: HandlerName): string {
  return fileURLToPath(new URL(`../lambdas/${name}/handler.ts`, import.meta.url));
}

/**
 * dist/functions/<name>/: the built code of one handler, `index.mjs` exporting `handler`.
 * From lib/ (the repository) and from dist/ (the package) alike, `../dist/` is the same.
 */
export function functionBundleDir(name: HandlerName): string {
  return fileURLToPath(new URL(`../dist/functions/${name}/`, import.meta.url));
}

/** The file of each bundle, in its directory. */
export const BUNDLE_FILE = 'index.mjs';

/** The code asset of `name`'s function; refuses, saying how to build it, when it is missing. */
function functionCode(name: HandlerName): lambda.Code {
  const dir = functionBundleDir(name);
  if (!existsSync(`${dir}${BUNDLE_FILE}`)) {
    throw new Error(
      `the ${name} function is not built (${dir}${BUNDLE_FILE} is missing): run \`npm run build\` (\`npx cdk synth\` runs it first)`,
    );
  }
  return lambda.Code.fromAsset(dir);
}

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * How every function is built, in esbuild's terms: build.ts builds the bundles with it, and
 * the bench (bin/bench/load-time.ts) builds exactly what ships. The AWS SDK is bundled: a
 * bundled, tree-shaken, minified client loads in well under half the time of the runtime's
 * copy resolved from node_modules, and the function runs the SDK version it was tested with.
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

export interface GateFunctionProps {
  /** Which handler the function runs; also its Powertools service name. */
  readonly handler: HandlerName;
  /** Environment variables (names from lambdas/lambda-env.ts); never secret values. */
  readonly environment?: Record<string, string>;
  /**
   * The policy and warning window of the deployment: a handler of DERIVES_STATUS gets them as
   * GATE_POLICY and EXPIRY_WARNING_DAYS (`environment` may still set them); others ignore it.
   * @default - nothing set: the function derives by the defaults
   */
  readonly derivation?: Derivation;
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
  /**
   * A role shared with other functions (the processors of one rule kind); the caller grants
   * it what the functions need, writing to `logGroup` included.
   * @default - a role of its own, allowed to write to its log group
   */
  readonly role?: iam.Role;
  /**
   * A log group shared with other functions (Lambda names each stream after its function).
   * @default - a log group of its own, with `logRetention`
   */
  readonly logGroup?: logs.LogGroup;
}

/**
 * A role for functions that holds its grants as an inline policy of the role itself, not in
 * a separate AWS::IAM::Policy (CDK's default policy): the same rights, one resource fewer per
 * role in a template that must keep room for every event type.
 */
export class FunctionRole extends iam.Role {
  private readonly grantsDocument: iam.PolicyDocument;

  constructor(scope: Construct, id: string, props: { readonly description: string }) {
    const grantsDocument = new iam.PolicyDocument();
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
      inlinePolicies: { Grants: grantsDocument },
    });
    this.grantsDocument = grantsDocument;
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.grantsDocument.addStatements(statement);
    // The statements are part of the role, so whatever needs them depends on the role.
    return { statementAdded: true, policyDependable: this };
  }
}

/** The settings every function of one deployment shares. */
export type FunctionDefaults = Pick<
  GateFunctionProps,
  | 'metricsNamespace'
  | 'tracing'
  | 'applicationLogLevel'
  | 'systemLogLevel'
  | 'logRetention'
  | 'derivation'
>;

export class GateFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GateFunctionProps) {
    super(scope, id);
    this.logGroup =
      props.logGroup ??
      new logs.LogGroup(this, 'Logs', {
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      });
    // An own role instead of the managed AWSLambdaBasicExecutionRole: the function may
    // write to its own log group only, and every other right comes from a grant.
    if (props.role) {
      this.role = props.role;
    } else {
      this.role = new FunctionRole(this, 'Role', {
        description: `${Stack.of(this).stackName} ${props.handler} function`,
      });
      this.logGroup.grantWrite(this.role);
    }

    this.function = new lambda.Function(this, 'Function', {
      code: functionCode(props.handler),
      handler: 'index.handler',
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
        ...(props.derivation && DERIVES_STATUS.includes(props.handler)
          ? derivationEnvironment(props.derivation)
          : {}),
        ...props.environment,
      },
    });
  }
}
