// The CDK app (`npx cdk synth` / `npx cdk deploy`): one stack, configured by context, e.g.
// `npx cdk deploy -c stage=prod -c alarmEmail=ops@example.com` (keys in lib/config.ts).
// The default stage deploys the stack `StripeBillingGate`, the name the operator commands
// use unless given --stack; another stage deploys `StripeBillingGate-<stage>`.

import { App } from 'aws-cdk-lib';
import { addBillingGate } from '../lib/billing-gate-app';
import { ContextConfigError } from '../lib/config';

const app = new App();
try {
  addBillingGate(app);
} catch (err) {
  if (!(err instanceof ContextConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
app.synth();
