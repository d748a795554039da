// `npm run rebuild -- [--customer cus_...] [--dry-run] [--local]`: recomputes billing-status
// items from the stored facts, after an upgrade that changes a rule (the sweeper counts the
// items still computed with older rules). Safe while events are being applied.

import { RULES_VERSION } from '../lambdas/core/status-record';
import { rebuildAll } from '../lambdas/rebuild/rebuild-status';
import {
  customerIdArg,
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  runIfEntryPoint,
  type CommandDeps,
} from './ops/command';
import { renderTable } from './ops/table';
import { resolveTarget, storeOf, type Target, type TargetOptions } from './ops/target';

export interface RebuildDeps extends CommandDeps {
  /** Reaches the target stack; `npm start`'s or the deployed one by default. */
  connect?: (options: TargetOptions) => Promise<Target>;
}

export const command = defineCommand<RebuildDeps>({
  name: 'rebuild',
  summary:
    'Recomputes billing-status items from the stored facts and overrides, with the rules ' +
    'this version runs, and marks them with that rules version.',
  description: [
    `Run it after an upgrade that changes what a rule means (the rules version here is ${RULES_VERSION}); ` +
      'until then the sweeper counts the items computed with older rules (metric ' +
      'StatusItemsBehindRules). Processors may keep applying events meanwhile: every write ' +
      'is checked against concurrent ones. Without --customer it goes through every ' +
      'customer that has a status item.',
  ],
  options: {
    customer: { type: 'string', value: 'cus_...', description: "only this customer's item" },
    'dry-run': { type: 'boolean', description: 'count what would change; write nothing' },
  },
  usage: [['[customer]', '[dry-run]']],
  failure: 'some item could not be read or rebuilt (running it again is safe)',
  examples: [
    { args: '--dry-run --local', note: 'what a rebuild would change on `npm start`' },
    { args: '--customer cus_123 --local', note: "rebuild cus_123's item" },
    { args: '--stack StripeBillingGate-prod', note: 'every item of a deployed stack' },
  ],
  async run({ args, target: targetOptions, io, deps }) {
    const given = args.string('customer');
    const customer = given === undefined ? undefined : customerIdArg(given);
    const dryRun = args.flag('dry-run');
    const target = await (deps.connect ?? resolveTarget)(targetOptions);
    try {
      io.err(
        `${dryRun ? 'checking' : 'rebuilding'} ${customer ?? 'every customer'} on ` +
          `${target.describe()}, table ${target.tableName}`,
      );
      const { store, settings } = await storeOf(target, () => io.now().getTime());
      const summary = await rebuildAll(
        store,
        { settings, clock: () => io.now().getTime() },
        { ...(customer ? { customers: [customer] } : {}), dryRun, progress: io.err },
      );
      renderTable(
        ['CUSTOMERS', dryRun ? 'WOULD CHANGE' : 'REBUILT', 'UNCHANGED', 'NO RECORD', 'FAILED'],
        [
          [
            summary.customers,
            dryRun ? summary.wouldChange : summary.rebuilt,
            summary.unchanged,
            summary.noRecord,
            summary.failed,
          ].map(String),
        ],
        { align: ['right', 'right', 'right', 'right', 'right'] },
      ).forEach((line) => io.out(line));
      return summary.failed > 0 ? EXIT_FAILURE : EXIT_OK;
    } finally {
      target.close();
    }
  },
});

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
