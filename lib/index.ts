// The construct package `stripe-billing-gate`: what a CDK app imports to embed the billing
// gate in a stack of its own (README "Embedding the gate in your own CDK app"). Built by
// `npm run build` into dist/ with the functions' code prebuilt beside it.

export { BillingGate, WARNINGS, type BillingGateProps } from './billing-gate';
export type {
  BillingGateConfig,
  ApplicationLogLevel,
  StripeModeSetting,
  SystemLogLevel,
} from './config';
export type { IngressMode } from '../lambdas/eventbridge/ingress-mode';
export type { PolicyDocument, PolicyEntry } from '../lambdas/core/policy';
