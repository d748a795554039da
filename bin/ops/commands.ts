// The operator commands, by npm script name. Each is `bin/<name>.ts`, run by the npm script
// of the same name (`tsx bin/<name>.ts`), and exports `command` (its definition, made with
// defineCommand in bin/ops/command.ts) and `run`. Adding a command: write bin/<name>.ts,
// add its script to package.json and its name here; the tests then check its help, its
// script and its examples.

export const OPERATOR_COMMANDS = [
  'trigger',
  'status',
  'override',
  'redrive',
  'reconcile',
  'backfill',
  'register-endpoint',
  'rebuild',
] as const;

export type OperatorCommandName = (typeof OPERATOR_COMMANDS)[number];
