// The CDK app's wiring, shared by bin/app.ts and the infra tests: configuration from
// context (every key checked, unknown ones refused), the one stack, and cdk-nag's AWS
// Solutions checks as a validation plugin.

import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BillingGateStack } from './billing-gate-stack';
import { loadConfig } from './config';

export function addBillingGate(app: App): BillingGateStack {
  const config = loadConfig((key) => app.node.tryGetContext(key), {
    presentKeys: Object.keys(app.node.getAllContext()),
  });
  const stack = new BillingGateStack(app, config.stackName, {
    config,
    description: `Stripe billing gate (${config.stage}): webhooks -> SQS per event type -> DynamoDB billing status`,
  });
  // cdk-nag 3 is a policy validation plugin (not an Aspect): `cdk synth` fails on an
  // unacknowledged error and lists warnings; acknowledgements carry their reasons.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
