// The behaviour that needs a process of its own: --help exits 0, --logging and --log-format
// reconfigure the real console output, and the CLI pattern for an OptionError (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../fixtures/options/cli.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** The log lines of a run's stderr. */
const records = (r: Run) => r.stderr.split('\n').filter((l) => l.includes('record'));

test('--help prints the help to stderr and exits 0 before the program goes on', async () => {
  const r = await run('--port=1', '--help');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Usage: .*cli\.ts \[OPTIONS\]\n\nOptions:\n/);
  assert.match(r.stderr, /--help {26} show this help information/);
  assert.match(r.stderr, /--port {26} run on the given port \(default 8888\)/);
  assert.match(r.stderr, /--timeout .*\(default 30000ms\)/);
  assert.match(r.stderr, /logging options:\n\n {2}--log-format=pretty\|json/);
  assert.match(r.stderr, /--logging=debug\|info\|warning\|error\|none/);
});

test('by default parsing turns on info-level, pretty logging, as Tornado does', async () => {
  const r = await run('--port=9000', '--timeout=1m', 'extra');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { port: 9000, timeout: 60_000, rest: ['extra'] });
  assert.deepEqual(
    records(r).map((l) => l.replace(/^\[(\w) \d{6} [\d:]{8} app\] /, '$1 ')),
    ['I info record', 'W warning record', 'E error record'],
  );
});

test('--logging=debug shows debug records; --logging=error only errors', async () => {
  const debug = await run('--logging=debug');
  assert.equal(records(debug).length, 4, debug.stderr);
  const error = await run('--logging', 'error');
  assert.deepEqual(records(error).length, 1, error.stderr);
  assert.match(records(error)[0] ?? '', /error record/);
});

test('--logging=none turns the console output off', async () => {
  const r = await run('--logging=none');
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.equal(JSON.parse(r.stdout).port, 8888);
});

test('--log-format=json writes one JSON object a line', async () => {
  const r = await run('--log-format=json', '--logging=warning');
  const lines = records(r).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.level, l.logger, l.message]),
    [
      ['warning', 'app', 'warning record'],
      ['error', 'app', 'error record'],
    ],
  );
});

test('an OptionError names the option; the CLI prints it with the --help hint, exit 2', async () => {
  for (const [args, pattern] of [
    [['--prot=80'], /Unrecognized command line option: 'prot'/],
    [['--port=eighty'], /Option 'port': 'eighty' is not a number/],
    [['--timeout=5 parsecs'], /Option 'timeout': malformed duration '5 parsecs'/],
    [['--logging=verbose'], /Option 'logging' must be one of debug\|info\|warning\|error\|none/],
  ] as const) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, pattern);
    assert.match(r.stderr, /Try --help for the options\.\n$/);
    assert.equal(r.stdout, '');
  }
});
