// Quiet Powertools logger and metrics for handler tests (metrics disabled by vitest env).
import { makeLogger, makeMetrics } from '../../lambdas/observability';

export const testLogger = makeLogger('test');
export const testMetrics = makeMetrics('test');
