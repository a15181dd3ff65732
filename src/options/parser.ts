/**
 * `OptionParser`: a set of options that is also the read/write view of their values.
 * @module
 */
import process from 'node:process';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';
import { OptionError } from '../errors.ts';
import {
  describe,
  formatDefault,
  inferType,
  isOfType,
  parseOne,
  parseRange,
  typeName,
  type OptionType,
} from './values.ts';

/** Options of {@link OptionParser.define}. */
export interface DefineOptions {
  /** The value until the option is set; `null` when left out (`[]` for `multiple`). */
  default?: unknown;
  /** The value's type; else the default's type; else `String`. */
  type?: OptionType;
  /** One line of help for `--help`. */
  help?: string;
  /** The value's placeholder in `--help` (`--port=PORT`). */
  metavar?: string;
  /** The value is an array; the command line gives a comma list (and `a:b` ranges of integers). */
  multiple?: boolean;
  /** The help section; default: the file that called `define`. */
  group?: string;
  /** Called with the new value every time the option is set or parsed. */
  callback?: (value: unknown) => void;
  /**
   * typhoon addition: the only values allowed (for `String` options), e.g. the levels of
   * `--logging`; anything else is an {@link OptionError}.
   */
  choices?: readonly string[];
}

/** Options of {@link OptionParser.parseCommandLine} and {@link OptionParser.parseConfigFile}. */
export interface ParseOptions {
  /**
   * Run the parse callbacks ({@link OptionParser.addParseCallback}, e.g. the logging setup)
   * after this parse. Pass `false` when more sources follow. Default true.
   */
  final?: boolean;
}

/** Anything with a `write(text)`: `process.stdout`, a `Writable`, a collecting object. */
export interface TextSink {
  /** Take one chunk of text. */
  write(text: string): unknown;
}

interface Option {
  readonly name: string;
  readonly type: OptionType;
  readonly default: unknown;
  readonly help: string | undefined;
  readonly metavar: string | undefined;
  readonly multiple: boolean;
  readonly group: string;
  readonly file: string;
  readonly callback: ((value: unknown) => void) | undefined;
  readonly choices: readonly string[] | undefined;
  value: unknown;
}

const normalize = (name: string): string => name.replaceAll('_', '-');

/** The file that called into this folder, for the default group (Tornado: the defining file). */
function callerFile(): string {
  const stack = new Error().stack ?? '';
  const folder = new URL('.', import.meta.url).href; // every file of typhoon's options
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/|\/)[^\s()]+?):\d+:\d+\)?$/.exec(line.trim());
    if (m === null || m[1] === undefined) continue;
    const url = m[1].startsWith('file:') ? m[1] : pathToFileURL(m[1]).href;
    if (url.startsWith(folder)) continue;
    return url.startsWith('file:') ? fileURLToPath(url.split('?')[0] ?? url) : url;
  }
  return '';
}

// Members of OptionParser: an option may not be named like one, or `parser.name` would be
// the method. Filled below, once the class exists.
const MEMBERS = new Set<string>();

/**
 * A set of options: `define()` them, parse the command line or a config file into them, and
 * read or assign them as properties of the parser itself (`parser.port`, `parser.port = 80`,
 * `parser['log-format']`; `-` and `_` are the same). Assigning checks the type (no parsing:
 * a string for a Number option is an {@link OptionError}) and runs the option's callback;
 * assigning an unknown name throws, reading one gives `undefined`.
 *
 * Every parser has `--help`, which prints {@link OptionParser.printHelp} to stderr and exits
 * with status 0. The global parser is {@link options}; make your own for a subcommand or a
 * library.
 *
 * @example
 * ```ts
 * const parser = new OptionParser();
 * parser.define('port', { default: 80 });
 * parser.define('hosts', { multiple: true });
 * const rest = parser.parseCommandLine(['--port=8080', '--hosts=a,b', 'serve', '-v']);
 * parser.port; // 8080
 * rest; // ['serve', '-v']
 * ```
 * Tornado: `tornado.options.OptionParser`.
 */
export class OptionParser implements Iterable<string> {
  [name: string]: unknown;

  readonly #options = new Map<string, Option>();
  readonly #parseCallbacks: (() => void)[] = [];

  constructor() {
    this.define('help', {
      type: Boolean,
      help: 'show this help information',
      group: '',
      callback: (value) => {
        if (value === true) {
          this.printHelp();
          process.exit(0);
        }
      },
    });
    // The parser is its own view of the values: a Proxy turns unknown property names into
    // option reads and writes, and hands methods the real object (their #private state is not
    // reachable through a Proxy).
    const target = this;
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(this, {
      get(t, key) {
        if (typeof key === 'symbol' || key in t) {
          const value: unknown = Reflect.get(t, key, t);
          if (typeof value !== 'function') return value;
          let fn = bound.get(key);
          if (fn === undefined) bound.set(key, (fn = (value as () => unknown).bind(target)));
          return fn;
        }
        return target.#options.get(normalize(key))?.value;
      },
      set(t, key, value: unknown) {
        if (typeof key === 'symbol' || key in t) {
          throw new TypeError(`OptionParser: '${String(key)}' is a method, not an option`);
        }
        target.#assign(target.#lookup(key, 'Unrecognized option'), value);
        return true;
      },
      has(t, key) {
        return (typeof key === 'string' && target.#options.has(normalize(key))) || key in t;
      },
      deleteProperty(_t, key) {
        throw new TypeError(`OptionParser: options cannot be deleted ('${String(key)}')`);
      },
    });
  }

  #lookup(name: string, what: string): Option {
    const option = this.#options.get(normalize(name));
    if (option === undefined) throw new OptionError(`${what}: '${name}'`, { option: name });
    return option;
  }

  /**
   * Define an option. Its type is `type`, else the default's (the first element's for a
   * `multiple` default), else `String`. Defining a name twice (`foo_bar` and `foo-bar` are
   * the same name), or a name that is a method of the parser, throws {@link OptionError}.
   *
   * @example
   * ```ts
   * define('debug', { default: false, help: 'reload on changes' });
   * define('ports', { type: Number, multiple: true, default: [8000] });
   * define('config', { callback: (path) => console.log('config at', path) });
   * ```
   * Tornado: `tornado.options.define` / `OptionParser.define`.
   */
  define(name: string, options: DefineOptions = {}): void {
    if (typeof name !== 'string' || name === '') {
      throw new OptionError('An option needs a non-empty name');
    }
    const key = normalize(name);
    const existing = this.#options.get(key);
    if (existing !== undefined) {
      throw new OptionError(
        `Option '${name}' already defined${existing.file === '' ? '' : ` in ${existing.file}`}`,
        { option: name },
      );
    }
    if (MEMBERS.has(name) || MEMBERS.has(name.replaceAll('-', '_'))) {
      throw new OptionError(`Option '${name}' has the name of an OptionParser method`, {
        option: name,
      });
    }
    const multiple = options.multiple ?? false;
    const type = options.type ?? inferType(options.default, multiple);
    if (type === undefined) {
      throw new OptionError(
        `Option '${name}': give a type, it cannot be told from a ${describe(options.default)} default`,
        { option: name },
      );
    }
    const file = callerFile();
    const option: Option = {
      name,
      type,
      default: options.default ?? (multiple ? [] : null),
      help: options.help,
      metavar: options.metavar,
      multiple,
      group: options.group ?? file,
      file,
      callback: options.callback,
      choices: options.choices,
      value: undefined,
    };
    option.value = option.default;
    this.#options.set(key, option);
  }

  #check(option: Option, value: unknown): void {
    const wanted = option.multiple
      ? `an array of ${typeName(option.type)}`
      : `a ${typeName(option.type)}`;
    const ok = option.multiple
      ? Array.isArray(value) && value.every((v) => isOfType(option.type, v))
      : value !== undefined && isOfType(option.type, value);
    if (!ok) {
      throw new OptionError(
        `Option '${option.name}' is required to be ${wanted} (${describe(value)} given)`,
        { option: option.name },
      );
    }
    if (option.choices !== undefined) {
      for (const v of option.multiple ? (value as unknown[]) : [value]) {
        if (v !== null && !option.choices.includes(String(v))) {
          throw new OptionError(
            `Option '${option.name}' must be one of ${option.choices.join('|')} ('${String(v)}' given)`,
            { option: option.name },
          );
        }
      }
    }
  }

  #assign(option: Option, value: unknown): void {
    this.#check(option, value);
    option.value = value;
    option.callback?.(value);
  }

  /** Parse `text` as the command line would and set the option. */
  #parse(option: Option, text: string): void {
    let value: unknown;
    try {
      if (!option.multiple) value = parseOne(option.type, text);
      else {
        const values: unknown[] = [];
        for (const part of text.split(',')) {
          if (option.type === Number && part.includes(':')) values.push(...parseRange(part));
          else values.push(parseOne(option.type, part));
        }
        value = values;
      }
    } catch (error) {
      if (error instanceof OptionError) throw error;
      throw new OptionError(`Option '${option.name}': ${(error as Error).message}`, {
        option: option.name,
        cause: error,
      });
    }
    this.#assign(option, value);
  }

  /**
   * Parse command-line arguments into the options and return the arguments after them: from
   * the first one that does not start with `-`, or after `--`. Throws {@link OptionError}
   * naming the option for an unknown option, a missing value or a value that does not parse.
   * `--help` prints the help to stderr and exits with status 0. With `final` (the default)
   * the parse callbacks run afterwards.
   *
   * @example
   * ```ts
   * const rest = parseCommandLine(['--port', '8080', '--debug', 'worker', '--x']);
   * // options.port === 8080, options.debug === true, rest = ['worker', '--x']
   * ```
   * Tornado: `tornado.options.parse_command_line` (whose `args[0]`, the program, is not
   * passed here: the default is `process.argv.slice(2)`).
   */
  parseCommandLine(
    argv: readonly string[] = process.argv.slice(2),
    opts: ParseOptions = {},
  ): string[] {
    let remaining: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] as string;
      if (!arg.startsWith('-')) {
        remaining = argv.slice(i);
        break;
      }
      if (arg === '--') {
        remaining = argv.slice(i + 1);
        break;
      }
      const body = arg.replace(/^-+/, '');
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      const option = this.#lookup(name, 'Unrecognized command line option');
      let value: string;
      if (eq !== -1) value = body.slice(eq + 1);
      else if (option.type === Boolean) value = 'true';
      else {
        const next = argv[i + 1];
        // `--name value`; a following `--option` is not a value (a negative number is).
        if (next === undefined || next.startsWith('--')) {
          throw new OptionError(`Option '${option.name}' requires a value`, { option: name });
        }
        value = next;
        i++;
      }
      this.#parse(option, value);
    }
    if (opts.final ?? true) this.runParseCallbacks();
    return remaining;
  }

  /**
   * Read options from a config file: a JSON object (a `.json` file), or the default export of
   * an ES module (`.js`, `.mjs`, `.ts`, …; trusted code, as Tornado's Python config files).
   * Keys are option names (`-` or `_`); keys that name no option are ignored. A string value
   * for an option that is not a String is parsed as on the command line (`"2s"`, `"80,81"`,
   * `"2013-04-28"`); other values must have the option's type. Asynchronous, because modules
   * are loaded with `import()`; each call reads the file again.
   *
   * @example
   * ```ts
   * // server.config.json: { "port": 443, "timeout": "1m" }
   * await parseConfigFile('server.config.json');
   * ```
   * Tornado: `tornado.options.parse_config_file`.
   */
  async parseConfigFile(path: string, opts: ParseOptions = {}): Promise<void> {
    const file = isAbsolute(path) ? path : resolve(path);
    let config: unknown;
    try {
      if (/\.json$/i.test(file)) {
        config = JSON.parse(await readFile(file, 'utf8'));
      } else {
        // A fresh URL each time, so an edited file is read again (Tornado re-executes it).
        const url = `${pathToFileURL(file).href}?typhoon-config=${++configLoads}`;
        config = ((await import(url)) as { default?: unknown }).default;
      }
    } catch (error) {
      throw new OptionError(`Cannot read config file ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new OptionError(`Config file ${file} must hold an object (${describe(config)} found)`);
    }
    for (const [key, value] of Object.entries(config)) {
      const option = this.#options.get(normalize(key));
      if (option === undefined) continue;
      try {
        if (typeof value === 'string' && option.type !== String) this.#parse(option, value);
        else if (option.multiple && typeof value === 'string') this.#parse(option, value);
        else this.#assign(option, value);
      } catch (error) {
        if (!(error instanceof OptionError)) throw error;
        throw new OptionError(`${error.message} (in ${file})`, { option: key, cause: error });
      }
    }
    if (opts.final ?? true) this.runParseCallbacks();
  }

  /**
   * Write the help: `Usage:`, then each option as `--name=METAVAR  help (default X)`, grouped
   * (options defined without a group are grouped by the file that defined them). Default
   * stream: stderr, as Tornado.
   *
   * @example
   * ```ts
   * printHelp(process.stdout);
   * ```
   * Tornado: `tornado.options.print_help`.
   */
  printHelp(stream: TextSink = process.stderr): void {
    const lines: string[] = [`Usage: ${process.argv[1] ?? 'node'} [OPTIONS]`, '', 'Options:', ''];
    const groups = new Map<string, Option[]>();
    for (const option of this.#options.values()) {
      const list = groups.get(option.group) ?? [];
      list.push(option);
      groups.set(option.group, list);
    }
    for (const group of [...groups.keys()].sort()) {
      if (group !== '') {
        const shown = isAbsolute(group) ? relative(process.cwd(), group) || group : group;
        lines.push('', `${shown} options:`, '');
      }
      const list = (groups.get(group) ?? []).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const option of list) {
        let prefix = normalize(option.name);
        if (option.metavar !== undefined) prefix += `=${option.metavar}`;
        let description = option.help ?? '';
        const d = option.default;
        if (d !== null && d !== undefined && d !== '' && !(Array.isArray(d) && d.length === 0)) {
          description += ` (default ${formatDefault(d, option.type)})`;
        }
        const wrapped = wrap(description.trim(), 44);
        if (prefix.length > 30 || wrapped.length === 0) wrapped.unshift('');
        lines.push(`  --${prefix.padEnd(30)} ${wrapped[0] ?? ''}`.trimEnd());
        for (const more of wrapped.slice(1)) lines.push(`${' '.repeat(34)} ${more}`);
      }
    }
    lines.push('');
    stream.write(lines.join('\n') + '\n');
  }

  /**
   * Run `fn` after every final parse (of the command line or a config file), in the order
   * added; {@link defineLoggingOptions} applies `--logging` this way.
   *
   * Tornado: `tornado.options.add_parse_callback`.
   */
  addParseCallback(fn: () => void): void {
    this.#parseCallbacks.push(fn);
  }

  /** Run the parse callbacks now. Tornado: `OptionParser.run_parse_callbacks`. */
  runParseCallbacks(): void {
    for (const fn of this.#parseCallbacks) fn();
  }

  /** `[name, value]` of every option, names as defined. Tornado: `OptionParser.items`. */
  items(): [string, unknown][] {
    return [...this.#options.values()].map((o) => [o.name, o.value]);
  }

  /** The names of the groups options were defined in. Tornado: `OptionParser.groups`. */
  groups(): Set<string> {
    return new Set([...this.#options.values()].map((o) => o.group));
  }

  /**
   * Name → value of the options of one group (of all options when `group` is empty), e.g. to
   * pass as application settings.
   *
   * @example
   * ```ts
   * define('templatePath', { group: 'application' });
   * new Application(handlers, options.groupDict('application'));
   * ```
   * Tornado: `OptionParser.group_dict`.
   */
  groupDict(group: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const o of this.#options.values()) if (!group || o.group === group) out[o.name] = o.value;
    return out;
  }

  /** Name → value of every option. Tornado: `OptionParser.as_dict`. */
  asDict(): Record<string, unknown> {
    return this.groupDict('');
  }

  /** The option names, as defined. */
  *[Symbol.iterator](): Iterator<string> {
    for (const o of this.#options.values()) yield o.name;
  }

  /** What `console.log(parser)` shows: the values. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `OptionParser ${JSON.stringify(this.asDict())}`;
  }
}

for (
  let proto: object | null = OptionParser.prototype;
  proto !== null && proto !== Object.prototype;
  proto = Object.getPrototypeOf(proto) as object | null
) {
  for (const key of Object.getOwnPropertyNames(proto)) MEMBERS.add(key);
}
for (const key of Object.getOwnPropertyNames(Object.prototype)) MEMBERS.add(key);
MEMBERS.add('then'); // an option named `then` would make the parser look like a Promise

let configLoads = 0;

/** Greedy word wrap at `width` columns (long words stay whole), as Python's textwrap. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
