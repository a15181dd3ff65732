// OptionParser: Tornado's options_test.py cases and every syntax and error of the contract
// (command line, config files, assignment, help).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAX_RANGE_SIZE,
  OptionError,
  OptionParser,
  addParseCallback,
  define,
  defineLoggingOptions,
  options,
  parseCommandLine,
  parseDuration,
  printHelp,
} from '../../src/options/index.ts';
import { appLog } from '../../src/log.ts';

const temp = mkdtempSync(join(tmpdir(), 'typhoon-options-'));
after(() => rmSync(temp, { recursive: true, force: true }));
const THIS_FILE = fileURLToPath(import.meta.url);

/** Assert that fn throws an OptionError for `option` whose message matches `pattern`. */
function throwsOption(fn: () => unknown, option: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OptionError, `not an OptionError: ${String(err)}`);
    assert.equal(err.errorCode, 'TYPHOON_OPTION');
    assert.equal(err.option, option);
    assert.match(err.message, pattern);
    assert.ok(err.message.includes(option), `message names ${option}: ${err.message}`);
    return true;
  });
}

class Email {
  readonly value: string;
  constructor(value: string) {
    if (!value.includes('@')) throw new Error(`'${value}' is not an email address`);
    this.value = value;
  }
}

test('Tornado test_parse_command_line: --port=443 over the default', () => {
  const parser = new OptionParser();
  parser.define('port', { default: 80 });
  assert.equal(parser.port, 80);
  assert.deepEqual(parser.parseCommandLine(['--port=443']), []);
  assert.equal(parser.port, 443);
});

test('--name value, --flag, --flag=false and the false spellings', () => {
  const parser = new OptionParser();
  parser.define('name', { type: String });
  parser.define('debug', { default: false });
  parser.parseCommandLine(['--name', 'typhoon', '--debug']);
  assert.equal(parser.name, 'typhoon');
  assert.equal(parser.debug, true);
  for (const no of ['false', 'FALSE', 'False', '0', 'f', 'F']) {
    parser.parseCommandLine(['--debug=true']);
    parser.parseCommandLine([`--debug=${no}`]);
    assert.equal(parser.debug, false, no);
  }
  for (const yes of ['true', '1', 'yes', 't', '']) {
    parser.parseCommandLine([`--debug=${yes}`]);
    assert.equal(parser.debug, true, yes);
  }
  // a boolean never takes the next argument: it is the first positional one
  assert.deepEqual(parser.parseCommandLine(['--debug', 'false']), ['false']);
  assert.equal(parser.debug, true);
});

test('any number of leading dashes; a negative number as the next argument is a value', () => {
  const parser = new OptionParser();
  parser.define('port', { default: 80 });
  parser.define('offset', { type: Number });
  parser.parseCommandLine(['-port=81']);
  assert.equal(parser.port, 81);
  parser.parseCommandLine(['---port=82', '--offset', '-5']);
  assert.equal(parser.port, 82);
  assert.equal(parser.offset, -5);
});

test('Tornado test_subcommand: parsing stops at the first non-option, or after --', () => {
  const base = new OptionParser();
  base.define('verbose', { default: false });
  const sub = new OptionParser();
  sub.define('foo', { type: String });
  const rest = base.parseCommandLine(['--verbose', 'subcommand', '--foo=bar']);
  assert.deepEqual(rest, ['subcommand', '--foo=bar']);
  assert.equal(base.verbose, true);
  assert.deepEqual(sub.parseCommandLine(rest.slice(1)), []);
  assert.equal(sub.foo, 'bar');
  throwsOption(() => sub.parseCommandLine(['--verbose']), 'verbose', /Unrecognized/);
  assert.deepEqual(base.parseCommandLine(['--', '--verbose=false', 'x']), ['--verbose=false', 'x']);
  assert.equal(base.verbose, true, 'nothing after -- is parsed');
  assert.deepEqual(base.parseCommandLine([]), []);
});

test('Tornado test_dash_underscore_cli and _introspection: - and _ are one', () => {
  for (const defined of ['foo-bar', 'foo_bar']) {
    for (const flag of ['--foo-bar=a', '--foo_bar=a']) {
      const parser = new OptionParser();
      parser.define(defined);
      parser.parseCommandLine([flag]);
      assert.equal(parser.foo_bar, 'a');
      assert.equal(parser['foo-bar'], 'a');
    }
  }
  const parser = new OptionParser();
  parser.define('with-dash', { group: 'g' });
  parser.define('with_underscore', { group: 'g' });
  const all = ['help', 'with-dash', 'with_underscore'];
  assert.deepEqual([...parser].sort(), all);
  assert.deepEqual(
    parser
      .items()
      .map(([k]) => k)
      .sort(),
    all,
  );
  assert.deepEqual(Object.keys(parser.asDict()).sort(), all);
  assert.deepEqual(Object.keys(parser.groupDict('g')).sort(), ['with-dash', 'with_underscore']);
  const out = collect();
  parser.printHelp(out);
  assert.match(out.text, /--with-dash/);
  assert.match(out.text, /--with-underscore/);
  assert.ok('with_dash' in parser && 'with-underscore' in parser && !('nope' in parser));
});

test('Tornado test_error_redefine(_underscore): a name is defined once', () => {
  for (const [a, b] of [
    ['foo', 'foo'],
    ['foo-bar', 'foo-bar'],
    ['foo_bar', 'foo_bar'],
    ['foo-bar', 'foo_bar'],
    ['foo_bar', 'foo-bar'],
  ] as const) {
    const parser = new OptionParser();
    parser.define(a);
    throwsOption(() => parser.define(b), b, /Option.*foo.*already defined in .*options\.test\.ts/);
  }
  throwsOption(() => new OptionParser().define('help'), 'help', /already defined/);
});

test('names of OptionParser members cannot be options', () => {
  const parser = new OptionParser();
  for (const name of ['items', 'define', 'as_dict', 'asDict', 'then', 'constructor', 'toString']) {
    if (name === 'as_dict') {
      parser.define(name); // as_dict is not a member: asDict is
      continue;
    }
    throwsOption(() => parser.define(name), name, /name of an OptionParser method/);
  }
  assert.throws(() => parser.define(''), OptionError);
});

test('Tornado test_setattr / _type_check / _with_callback / test_setitem', () => {
  const values: unknown[] = [];
  const parser = new OptionParser();
  parser.define('foo', { default: 1, type: Number, callback: (v) => values.push(v) });
  parser.foo = 2;
  assert.equal(parser.foo, 2);
  parser['foo'] = 3;
  assert.equal(parser['foo'], 3);
  assert.deepEqual(values, [2, 3]);
  throwsOption(() => (parser.foo = '2'), 'foo', /required to be a number \(string given\)/);
  throwsOption(() => (parser.foo = Number.NaN), 'foo', /number/);
  throwsOption(() => (parser.foo = undefined), 'foo', /undefined given/);
  parser.foo = null; // Tornado allows None
  assert.equal(parser.foo, null);
  assert.deepEqual(values, [2, 3, null], 'a refused value runs no callback');
});

test('assignment: unknown names throw, reading one is undefined, methods stay methods', () => {
  const parser = new OptionParser();
  parser.define('ports', { type: Number, multiple: true });
  assert.equal(parser.nope, undefined);
  throwsOption(() => (parser.nope = 1), 'nope', /Unrecognized option/);
  assert.throws(() => ((parser as Record<string, unknown>).items = 1), TypeError);
  assert.throws(() => delete parser.ports, TypeError);
  parser.ports = [1, 2];
  assert.deepEqual(parser.ports, [1, 2]);
  throwsOption(() => (parser.ports = 1), 'ports', /an array of number/);
  throwsOption(() => (parser.ports = ['1']), 'ports', /an array of number/);
  // methods work when taken off the parser, as Tornado's module functions do
  const { items } = parser;
  assert.equal(typeof items, 'function');
  assert.ok((items as () => unknown[])().length >= 2);
});

test('Tornado test_iter / test_getitem / test_items / test_as_dict / test_group_dict', () => {
  const parser = new OptionParser();
  parser.define('a', { default: 1 });
  parser.define('b', { default: 2, group: 'b_group' });
  assert.deepEqual(new Set(parser), new Set(['a', 'b', 'help']));
  assert.equal(parser['a'], 1);
  assert.deepEqual(
    parser.items().sort(([x], [y]) => (x < y ? -1 : 1)),
    [
      ['a', 1],
      ['b', 2],
      ['help', null],
    ],
  );
  assert.deepEqual(parser.asDict(), { a: 1, b: 2, help: null });
  assert.deepEqual(parser.groups(), new Set(['b_group', '', THIS_FILE]));
  assert.deepEqual(parser.groupDict('b_group'), { b: 2 });
  assert.deepEqual(parser.groupDict('nonexistent'), {});
  assert.deepEqual(parser.groupDict(''), { a: 1, b: 2, help: null });
});

function typedParser(): OptionParser {
  const parser = new OptionParser();
  parser.define('str', { type: String });
  parser.define('int', { type: Number });
  parser.define('float', { type: Number });
  parser.define('datetime', { type: Date });
  parser.define('timedelta', { type: 'duration' });
  parser.define('email', { type: Email });
  parser.define('list-of-int', { type: Number, multiple: true });
  return parser;
}

function checkTyped(parser: OptionParser): void {
  assert.equal(parser.str, 'asdf');
  assert.equal(parser.int, 42);
  assert.equal(parser.float, 1.5);
  assert.deepEqual(parser.datetime, new Date(2013, 3, 28, 5, 16));
  assert.equal(parser.timedelta, 45_000);
  assert.ok(parser.email instanceof Email);
  assert.equal(parser.email.value, 'tornado@web.com');
  assert.deepEqual(parser.list_of_int, [1, 2, 3]);
}

test('Tornado test_types: every type from the command line', () => {
  const parser = typedParser();
  parser.parseCommandLine([
    '--str=asdf',
    '--int=42',
    '--float=1.5',
    '--datetime=2013-04-28 05:16',
    '--timedelta=45s',
    '--email=tornado@web.com',
    '--list-of-int=1,2,3',
  ]);
  checkTyped(parser);
  throwsOption(() => parser.parseCommandLine(['--email=nobody']), 'email', /not an email/);
});

test('the type comes from type, else the default, else String', () => {
  const parser = new OptionParser();
  parser.define('n', { default: 3 });
  parser.define('b', { default: true });
  parser.define('d', { default: new Date(0) });
  parser.define('s');
  parser.define('many', { multiple: true, default: [8000] });
  parser.define('words', { multiple: true });
  parser.parseCommandLine([
    '--n=4',
    '--b=0',
    '--d=2020-01-02',
    '--s=5',
    '--many=1,2',
    '--words=1,2',
  ]);
  assert.deepEqual(parser.asDict(), {
    help: null,
    n: 4,
    b: false,
    d: new Date(2020, 0, 2),
    s: '5',
    many: [1, 2],
    words: ['1', '2'],
  });
  assert.deepEqual(new OptionParser().asDict(), { help: null });
  throwsOption(() => parser.define('obj', { default: {} }), 'obj', /give a type/);
});

test('numbers: decimals, signs, exponents; anything else is refused naming the option', () => {
  const parser = new OptionParser();
  parser.define('x', { type: Number });
  for (const [text, value] of [
    ['7', 7],
    ['-3', -3],
    ['+2.5', 2.5],
    ['.5', 0.5],
    ['1e3', 1000],
  ] as const) {
    parser.parseCommandLine([`--x=${text}`]);
    assert.equal(parser.x, value, text);
  }
  for (const bad of ['abc', '', '0x10', '1_000', '12px', 'Infinity', '1,5']) {
    throwsOption(() => parser.parseCommandLine([`--x=${bad}`]), 'x', /is not a number/);
  }
});

test('Tornado test_multiple_string / test_multiple_int: comma lists and inclusive ranges', () => {
  const parser = new OptionParser();
  parser.define('foo', { type: String, multiple: true });
  parser.define('ports', { type: Number, multiple: true });
  parser.parseCommandLine(['--foo=a,b,c', '--ports=1,3,5:7']);
  assert.deepEqual(parser.foo, ['a', 'b', 'c']);
  assert.deepEqual(parser.ports, [1, 3, 5, 6, 7]);
  parser.parseCommandLine(['--ports=-2:0,4:4']);
  assert.deepEqual(parser.ports, [-2, -1, 0, 4]);
  assert.deepEqual(new OptionParser().groupDict('x'), {});
});

test('malformed ranges are OptionErrors naming the option', () => {
  const parser = new OptionParser();
  parser.define('ports', { type: Number, multiple: true });
  for (const bad of ['3:1', '1:', ':3', 'a:3', '1.5:3', '1:2:3', '1:x']) {
    throwsOption(() => parser.parseCommandLine([`--ports=${bad}`]), 'ports', /range/);
  }
  // ranges are for Numbers only: a String list keeps the colon
  const strings = new OptionParser();
  strings.define('hosts', { multiple: true });
  strings.parseCommandLine(['--hosts=a:1,b:2']);
  assert.deepEqual(strings.hosts, ['a:1', 'b:2']);
});

test(`a range may give at most ${MAX_RANGE_SIZE} values`, () => {
  const parser = new OptionParser();
  parser.define('ids', { type: Number, multiple: true });
  parser.parseCommandLine([`--ids=1:${MAX_RANGE_SIZE}`]);
  assert.equal((parser.ids as number[]).length, MAX_RANGE_SIZE);
  throwsOption(
    () => parser.parseCommandLine([`--ids=0:${MAX_RANGE_SIZE}`]),
    'ids',
    /more than 100000 values/,
  );
});

test("durations: Tornado's units and forms, in milliseconds; a bare number is ms", () => {
  const cases: [string, number][] = [
    ['150ms', 150],
    ['2s', 2000],
    ['1h', 3_600_000],
    ['1h 30m', 5_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['45', 45],
    ['100us', 0.1],
    ['3sec', 3000],
    ['2min', 120_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['-1s', -1000],
    ['.5s', 500],
    ['2 seconds', 2000],
    [' 1m ', 60_000],
  ];
  const parser = new OptionParser();
  parser.define('timeout', { type: 'duration' });
  for (const [text, ms] of cases) {
    assert.equal(parseDuration(text), ms, text);
    parser.parseCommandLine([`--timeout=${text}`]);
    assert.equal(parser.timeout, ms, text);
  }
  for (const bad of ['5 parsecs', 'abc', '', '1H', '1h x', 's', '--5s', '1e999s']) {
    throwsOption(
      () => parser.parseCommandLine([`--timeout=${bad}`]),
      'timeout',
      /malformed duration/,
    );
  }
  throwsOption(() => (parser.timeout = '1s'), 'timeout', /duration/);
  parser.timeout = 250;
  assert.equal(parser.timeout, 250);
});

test("dates: Tornado's formats, in local time", () => {
  const parser = new OptionParser();
  parser.define('when', { type: Date });
  const cases: [string, Date][] = [
    ['Sun Apr 28 05:16:07 2013', new Date(2013, 3, 28, 5, 16, 7)],
    ['2013-04-28 05:16:07', new Date(2013, 3, 28, 5, 16, 7)],
    ['2013-04-28 05:16', new Date(2013, 3, 28, 5, 16)],
    ['2013-04-28T05:16', new Date(2013, 3, 28, 5, 16)],
    ['20130428 05:16:07', new Date(2013, 3, 28, 5, 16, 7)],
    ['20130428 05:16', new Date(2013, 3, 28, 5, 16)],
    ['2013-04-28', new Date(2013, 3, 28)],
    ['2013-4-8', new Date(2013, 3, 8)],
    ['20130428', new Date(2013, 3, 28)],
    ['05:16:07', new Date(1900, 0, 1, 5, 16, 7)],
    ['5:16', new Date(1900, 0, 1, 5, 16)],
  ];
  for (const [text, date] of cases) {
    parser.parseCommandLine([`--when=${text}`]);
    assert.deepEqual(parser.when, date, text);
  }
  for (const bad of ['2013-02-30', '2013-13-01', '25:00', 'yesterday', '2013/04/28', '']) {
    throwsOption(() => parser.parseCommandLine([`--when=${bad}`]), 'when', /date\/time format/);
  }
});

test('unknown options, missing values and bad values are OptionErrors naming the option', () => {
  const parser = new OptionParser();
  parser.define('port', { default: 80 });
  parser.define('debug', { default: false });
  throwsOption(
    () => parser.parseCommandLine(['--prot=80']),
    'prot',
    /Unrecognized command line option/,
  );
  throwsOption(() => parser.parseCommandLine(['-']), '', /Unrecognized/);
  throwsOption(() => parser.parseCommandLine(['--port']), 'port', /requires a value/);
  throwsOption(() => parser.parseCommandLine(['--port', '--debug']), 'port', /requires a value/);
  throwsOption(() => parser.parseCommandLine(['--port=']), 'port', /not a number/);
  throwsOption(() => parser.parseCommandLine(['--port=eighty']), 'port', /not a number/);
  assert.equal(parser.port, 80, 'a refused value changes nothing');
});

test('choices: a value outside them is refused', () => {
  const parser = new OptionParser();
  parser.define('mode', { choices: ['a', 'b'], default: 'a' });
  parser.parseCommandLine(['--mode=b']);
  assert.equal(parser.mode, 'b');
  throwsOption(() => parser.parseCommandLine(['--mode=c']), 'mode', /one of a\|b/);
  throwsOption(() => (parser.mode = 'c'), 'mode', /one of a\|b/);
});

test('Tornado test_parse_callbacks: only final parses run them, every time', async () => {
  const parser = new OptionParser();
  let called = 0;
  parser.addParseCallback(() => called++);
  parser.parseCommandLine([], { final: false });
  assert.equal(called, 0);
  parser.parseCommandLine([]);
  assert.equal(called, 1);
  parser.parseCommandLine([]);
  assert.equal(called, 2);
  const file = join(temp, 'empty.json');
  writeFileSync(file, '{}');
  await parser.parseConfigFile(file, { final: false });
  assert.equal(called, 2);
  await parser.parseConfigFile(file);
  assert.equal(called, 3);
});

test('Tornado test_parse_config_file / test_types_with_conf_file: JSON', async () => {
  const parser = new OptionParser();
  parser.define('port', { default: 80 });
  parser.define('username', { default: 'foo' });
  parser.define('foo-bar');
  const file = join(temp, 'options.json');
  writeFileSync(file, JSON.stringify({ port: 443, username: '李康', foo_bar: 'a', unknown: 1 }));
  await parser.parseConfigFile(file);
  assert.equal(parser.port, 443);
  assert.equal(parser.username, '李康');
  assert.equal(parser.foo_bar, 'a');
  // strings are parsed as on the command line; typed values are taken as they are
  for (const config of [
    {
      str: 'asdf',
      int: 42,
      float: 1.5,
      datetime: '2013-04-28 05:16',
      timedelta: 45_000,
      email: 'tornado@web.com',
      list_of_int: [1, 2, 3],
    },
    {
      str: 'asdf',
      int: '42',
      float: '1.5',
      datetime: '2013-04-28 05:16',
      timedelta: '45s',
      email: 'tornado@web.com',
      list_of_int: '1:3',
    },
  ]) {
    const typed = typedParser();
    writeFileSync(file, JSON.stringify(config));
    await typed.parseConfigFile(file);
    checkTyped(typed);
  }
});

test('config files: an ES module default export, re-read on every call', async () => {
  const parser = new OptionParser();
  parser.define('port', { default: 80 });
  parser.define('timeout', { type: 'duration' });
  const file = join(temp, 'server.config.mjs');
  writeFileSync(file, 'export default { port: 8001, timeout: "2s" };\n');
  await parser.parseConfigFile(file);
  assert.equal(parser.port, 8001);
  assert.equal(parser.timeout, 2000);
  writeFileSync(file, 'export default { port: 8002 };\n');
  await parser.parseConfigFile(file);
  assert.equal(parser.port, 8002);
  const ts = join(temp, 'server.config.ts');
  writeFileSync(ts, 'const port: number = 8003;\nexport default { port };\n');
  await parser.parseConfigFile(ts);
  assert.equal(parser.port, 8003);
});

test('config file errors are OptionErrors naming the option or the file', async () => {
  const parser = new OptionParser();
  parser.define('port', { default: 80 });
  parser.define('ports', { type: Number, multiple: true });
  const file = join(temp, 'bad.json');
  const reject = async (content: string, option: string | undefined, pattern: RegExp) => {
    writeFileSync(file, content);
    await assert.rejects(parser.parseConfigFile(file), (err: unknown) => {
      assert.ok(err instanceof OptionError, String(err));
      assert.equal(err.option, option);
      assert.match(err.message, pattern);
      return true;
    });
  };
  await reject(
    '{"port": true}',
    'port',
    /'port' is required to be a number \(boolean given\) \(in .*bad\.json\)/,
  );
  await reject('{"port": "eighty"}', 'port', /'port': 'eighty' is not a number/);
  await reject('{"ports": [1, "2"]}', 'ports', /array of number/);
  await reject('{"ports": "1:x"}', 'ports', /malformed range/);
  await reject('{"port": ', undefined, /Cannot read config file .*bad\.json/);
  await reject('[1, 2]', undefined, /must hold an object \(array found\)/);
  const mod = join(temp, 'bad.mjs');
  writeFileSync(mod, 'export const port = 1;\n');
  await assert.rejects(parser.parseConfigFile(mod), /must hold an object \(undefined found\)/);
  await assert.rejects(parser.parseConfigFile(join(temp, 'missing.json')), OptionError);
  assert.equal(parser.port, 80);
});

/** A stream stand-in that keeps what is written. */
function collect(): { text: string; write(s: string): void } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

test('printHelp: Usage, one line per option, grouped, defaults and metavars, wrapped help', () => {
  const parser = new OptionParser();
  parser.define('port', { default: 8888, help: 'run on the given port', metavar: 'PORT' });
  parser.define('timeout', { type: 'duration', default: 1500, group: 'net' });
  parser.define('hosts', { multiple: true, default: ['a', 'b'], group: 'net' });
  parser.define('a-very-long-option-name-that-goes-on', { help: 'short', group: 'net' });
  parser.define('story', {
    help: 'a help text long enough that it has to be wrapped over more than one line of output',
    group: 'net',
  });
  const out = collect();
  parser.printHelp(out);
  const lines = out.text.split('\n');
  assert.match(lines[0] ?? '', /^Usage: .* \[OPTIONS\]$/);
  assert.deepEqual(lines.slice(1, 4), ['', 'Options:', '']);
  assert.ok(lines.includes(`  --${'help'.padEnd(30)} show this help information`), out.text);
  assert.ok(lines.includes('net options:'));
  assert.ok(lines.includes(`  --${'hosts'.padEnd(30)} (default a,b)`), out.text);
  assert.ok(lines.includes(`  --${'timeout'.padEnd(30)} (default 1500ms)`), out.text);
  assert.ok(lines.includes('  --a-very-long-option-name-that-goes-on'));
  assert.ok(lines.includes(`${' '.repeat(35)}short`), out.text);
  const story = lines.findIndex((l) => l.startsWith('  --story'));
  assert.ok(
    (lines[story] ?? '').length <= 79 && (lines[story + 1] ?? '').startsWith(' '.repeat(35)),
  );
  assert.ok(
    lines.some(
      (l) => l.startsWith('  --port=PORT') && l.endsWith('run on the given port (default 8888)'),
    ),
  );
  // the group of options defined here is this file, shown relative to the working directory
  assert.ok(
    lines.some((l) => l.endsWith('options.test.ts options:')),
    out.text,
  );
  // options without a group (help) come first, under Options: itself
  assert.ok((lines[4] ?? '').startsWith('  --help'), out.text);
});

test('the global options: define, parseCommandLine, printHelp, addParseCallback, logging', () => {
  define('typhoon-test-global-port', { default: 1 });
  let parsed = 0;
  addParseCallback(() => parsed++);
  assert.deepEqual(parseCommandLine(['--typhoon-test-global-port=2', 'rest']), ['rest']);
  assert.equal(options.typhoon_test_global_port, 2);
  assert.equal(parsed, 1);
  assert.equal(options.logging, 'info');
  assert.equal(options['log-format'], 'pretty');
  const out = collect();
  printHelp(out);
  assert.match(out.text, /--typhoon-test-global-port/);
  assert.match(out.text, /--logging=debug\|info\|warning\|error\|none/);
  defineLoggingOptions(); // the global parser has them: a second call does nothing
  defineLoggingOptions(options);
});

test('defineLoggingOptions: --logging sets the level when parsing finishes', () => {
  const parser = new OptionParser();
  defineLoggingOptions(parser);
  try {
    parser.parseCommandLine(['--logging=debug'], { final: false });
    assert.equal(appLog.isEnabledFor('debug'), false, 'not before the final parse');
    parser.parseCommandLine(['--logging=debug']);
    assert.equal(appLog.isEnabledFor('debug'), true);
    parser.parseCommandLine(['--logging=error']);
    assert.equal(appLog.isEnabledFor('warning'), false);
  } finally {
    parser.parseCommandLine(['--logging=warning']); // what the test setup runs at
  }
  assert.equal(appLog.isEnabledFor('warning'), true);
  throwsOption(() => parser.parseCommandLine(['--logging=verbose']), 'logging', /debug\|info/);
  throwsOption(() => parser.parseCommandLine(['--log-format=xml']), 'log-format', /pretty\|json/);
});
