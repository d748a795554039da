// `npm run test:reliability`: load, fault and fuzz runs that try to break the pipeline.
// Separate from `npm test` because they take minutes; `.ci/run` runs both.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      LOG_LEVEL: 'SILENT',
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    },
  },
});
