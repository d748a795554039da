// stripe-billing-gate-client: may this customer allocate more resources? One GetItem of the
// customer's billing-status item per check, decoded and derived by the same code as the
// billing gate's status API; `ready()` checks the setup at start-up.

export {
  createBillingGate,
  type BillingGate,
  type BillingGateLogger,
  type BillingGateOptions,
  type GateCheck,
  type GateErrorPolicy,
  type GatePolicy,
} from './billing-gate';
export {
  GateNotReadyError,
  GateTimeoutError,
  SettingsFormatError,
  type GateErrorKind,
  type GateProblem,
} from './gate-errors';
export { STATUS_ITEM_FORMAT, UnknownStatusFormatError } from '../../lambdas/adapters/status-item';
export type {
  BillingStatus,
  BlockerReason,
  Condition,
  OverrideMode,
  PaymentMethodStatus,
  PaymentMethodView,
  WarningReason,
} from '../../lambdas/core/facts';
