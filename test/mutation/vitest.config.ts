// The unit layer alone (no emulators, no global setup): what mutation testing runs against
// each mutant of lambdas/core. Same environment as the unit files get in `npm test`.
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    // The docs check lists the repository's files through git, which sees nothing inside
    // Stryker's sandbox (.stryker-tmp is ignored); it guards docs/, never lambdas/core.
    exclude: [...configDefaults.exclude, 'test/unit/behaviour-doc.test.ts'],
    setupFiles: ['test/mutation/fast-fail.setup.ts'],
    testTimeout: 30_000,
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      LOG_LEVEL: 'SILENT',
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    },
  },
});
