// Preloaded into every test file (see `npm run test:only`): every warning or error logged by
// typhoon that no `expectLog` claimed fails the test that was running, so failures are never
// swallowed silently. Records below warning are dropped unless TYPHOON_TEST_LOG=1.
import { afterEach } from 'node:test';
import { configureLogging, formatRecord, type LogRecord } from '../../src/log.ts';

const unclaimed: LogRecord[] = [];
const verbose = process.env.TYPHOON_TEST_LOG === '1';

configureLogging({
  level: verbose ? 'debug' : 'warning',
  sink: (record) => {
    if (verbose || record.level === 'warning' || record.level === 'error') {
      process.stderr.write(formatRecord(record, 'pretty'));
    }
    if (record.level === 'warning' || record.level === 'error') unclaimed.push(record);
  },
});

afterEach(() => {
  if (unclaimed.length === 0) return;
  const records = unclaimed.splice(0);
  throw new Error(
    `unexpected log records (claim them with expectLog):\n` +
      records.map((r) => formatRecord(r, 'pretty')).join(''),
  );
});
