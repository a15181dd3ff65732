// Claim several expected log lines around one action: `claimLogs([[accessLog, /^500/],
// [appLog, /Uncaught/]], fn)` nests expectLog so each pattern must match at least once.
import { expectLog } from '../../src/testing.ts';
import type { Logger } from '../../src/log.ts';

export type Claim = readonly [logger: Logger, pattern: RegExp | string];

export function claimLogs<T>(claims: readonly Claim[], fn: () => Promise<T>): Promise<T> {
  if (claims.length === 0) return fn();
  const [[logger, pattern], ...rest] = claims as [Claim, ...Claim[]];
  return expectLog(logger, pattern, () => claimLogs(rest, fn));
}
