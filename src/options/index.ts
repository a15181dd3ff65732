/// <reference types="node" preserve="true" />

/**
 * Command-line and config-file options, as Tornado's `tornado.options`: each module defines
 * the options it needs next to the code that uses them, and the program parses them once.
 *
 * ```
 * define('port', { default: 8888, help: 'run on the given port' });
 * define('timeout', { type: 'duration', default: 30_000 });
 * parseCommandLine();            // --port=80 --timeout=1m30s
 * app.listen(options.port as number);
 * ```
 *
 * Syntax: `--name=value`, `--name value`, `--flag` (true), `--flag=false` (`false`, `0`, `f`
 * in any case), `-name=value` (any number of dashes), `-` and `_` interchangeable in names;
 * `multiple` options take comma lists (`--ports=80,8000:8002` — `a:b` is an inclusive range
 * of integers); Dates take Tornado's formats in local time; durations take Tornado's units
 * (`us ms s sec m min h d w`, decimals, several terms: `1h 30m`) and are milliseconds, a bare
 * number being milliseconds too. Parsing stops at the first argument that does not start with
 * `-` (it and the rest are returned, for subcommands) or after `--`.
 *
 * Why not `node:util.parseArgs`: it keeps reading options after the first positional argument
 * (Tornado stops there, which is how subcommands get their own options), refuses
 * `--flag=false` for a boolean, reads `-port=80` as a cluster of short options, and knows
 * nothing of `-`/`_` aliases or comma lists; its tokens mode would leave every one of those to
 * be done again here. Tornado's grammar is a dozen lines of loop, so typhoon has its own.
 *
 * Tornado: `tornado.options`.
 * @module typhoon/options
 */
// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import process from 'node:process';
import { configureLogging, type LogLevel } from '../log.ts';
import { OptionParser, type DefineOptions, type ParseOptions, type TextSink } from './parser.ts';

export { OptionError } from '../errors.ts';
export { OptionParser };
export type { DefineOptions, ParseOptions, TextSink };
export { MAX_RANGE_SIZE, parseDate, parseDuration, type OptionType } from './values.ts';

/**
 * The global option set: define options with {@link define} and read them here
 * (`options.port`); it is an {@link OptionParser}, so `options.items()`, `options.asDict()`,
 * … work too. It has `--help` and Tornado's logging options (`--logging`, `--log-format`).
 *
 * @example
 * ```ts
 * import { define, options, parseCommandLine } from 'typhoon/options';
 * define('port', { default: 8888 });
 * parseCommandLine();
 * console.log(options.port);
 * ```
 * Tornado: `tornado.options.options`.
 */
export const options: OptionParser = new OptionParser();

/**
 * Define an option on the global {@link options}; see {@link OptionParser.define}.
 *
 * @example
 * ```ts
 * define('port', { default: 8888, help: 'run on the given port' });
 * ```
 * Tornado: `tornado.options.define`.
 */
export function define(name: string, opts: DefineOptions = {}): void {
  options.define(name, opts);
}

/**
 * Parse the command line into the global {@link options}; see
 * {@link OptionParser.parseCommandLine}.
 *
 * @example
 * ```ts
 * const rest = parseCommandLine(); // process.argv.slice(2)
 * ```
 * Tornado: `tornado.options.parse_command_line`.
 */
export function parseCommandLine(
  argv: readonly string[] = process.argv.slice(2),
  opts: ParseOptions = {},
): string[] {
  return options.parseCommandLine(argv, opts);
}

/**
 * Read a config file into the global {@link options}; see {@link OptionParser.parseConfigFile}.
 *
 * @example
 * ```ts
 * await parseConfigFile('/etc/myapp.json');
 * ```
 * Tornado: `tornado.options.parse_config_file`.
 */
export function parseConfigFile(path: string, opts: ParseOptions = {}): Promise<void> {
  return options.parseConfigFile(path, opts);
}

/**
 * Print the global {@link options}' help; see {@link OptionParser.printHelp}.
 *
 * @example
 * ```ts
 * printHelp(process.stdout);
 * ```
 * Tornado: `tornado.options.print_help`.
 */
export function printHelp(stream?: TextSink): void {
  options.printHelp(stream);
}

/**
 * Run `fn` after each final parse of the global {@link options}; see
 * {@link OptionParser.addParseCallback}.
 *
 * @example
 * ```ts
 * addParseCallback(() => console.log('listening on', options.port));
 * ```
 * Tornado: `tornado.options.add_parse_callback`.
 */
export function addParseCallback(fn: () => void): void {
  options.addParseCallback(fn);
}

const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'none'] as const;
const withLogging = new WeakSet<OptionParser>();

/**
 * Define Tornado's logging options on a parser and apply them when a parse finishes:
 * `--logging=debug|info|warning|error|none` (default `info`) sets typhoon's log level, `none`
 * turns typhoon's console output off; `--log-format=pretty|json` (default `pretty`) picks the
 * line format. Both go through `configureLogging`. The global {@link options} has them
 * already; a second call for the same parser does nothing.
 *
 * @example
 * ```ts
 * const parser = new OptionParser();
 * defineLoggingOptions(parser);
 * parser.parseCommandLine(['--logging=debug', '--log-format=json']);
 * ```
 * Tornado: `tornado.log.define_logging_options`.
 */
export function defineLoggingOptions(parser: OptionParser = options): void {
  if (withLogging.has(parser)) return;
  withLogging.add(parser);
  parser.define('logging', {
    default: 'info',
    help: "Set typhoon's log level. If 'none', typhoon writes nothing to the console.",
    metavar: LOG_LEVELS.join('|'),
    choices: LOG_LEVELS,
    group: 'logging',
  });
  parser.define('log-format', {
    default: 'pretty',
    help: 'Log lines as readable text (pretty) or one JSON object each (json).',
    metavar: 'pretty|json',
    choices: ['pretty', 'json'],
    group: 'logging',
  });
  parser.addParseCallback(() => {
    const level = parser.logging as LogLevel | 'none' | null;
    const format = parser['log-format'] as 'pretty' | 'json' | null;
    if (level === null) return;
    if (level === 'none') configureLogging({ sink: () => {} });
    else configureLogging({ level, format: format ?? 'pretty' });
  });
}

defineLoggingOptions(options);
