/// <reference types="node" preserve="true" />

/**
 * typhoon's three loggers, as Tornado has them.
 *
 * - {@link accessLog} — one line per finished HTTP request (`200 GET / (127.0.0.1) 1.23ms`).
 * - {@link appLog} — errors from application code: an exception in a callback, a handler or a
 *   coroutine, loop stalls found by the blocking watchdog.
 * - {@link genLog} — the coroutine machinery: failures nobody retrieved, extra failures of a
 *   parallel wait.
 *
 * Records go to one sink. The default sink writes a readable line to stderr (coloured when
 * stderr is a terminal); `configureLogging({format: 'json'})` writes one JSON object a line,
 * and `configureLogging({sink})` hands each {@link LogRecord} to your own function, which is
 * also how tests observe logs.
 *
 * @example
 * ```ts
 * import { appLog, configureLogging } from 'typhoon';
 * configureLogging({ level: 'debug', format: 'json' });
 * appLog.warning('disk almost full');
 * ```
 * Tornado: `tornado.log` (`access_log`, `app_log`, `gen_log`, `enable_pretty_logging`).
 * @module typhoon/log
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import process from 'node:process';

/** Severity of a record, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

/** Name of one of typhoon's loggers. */
export type LoggerName = 'access' | 'app' | 'gen';

/** What a sink receives: one record per call to a logger. */
export interface LogRecord {
  /** Which logger wrote it. */
  logger: LoggerName;
  /** Its severity. */
  level: LogLevel;
  /** The message, without the error's stack. */
  message: string;
  /** The error the record is about, when there is one (its stack is printed by the sinks). */
  error?: unknown;
  /** Wall-clock time of the record, milliseconds since the epoch. */
  time: number;
}

/** A function that receives every record at or above the configured level. */
export type LogSink = (record: LogRecord) => void;

/** A record filter that runs before the sink; return `true` to claim (swallow) the record. */
export type LogInterceptor = (record: LogRecord) => boolean;

/** Options of {@link configureLogging}. */
export interface LoggingOptions {
  /**
   * Records below this level are dropped. Until logging is configured the level is
   * `'warning'` (as Python's logging shows an unconfigured Tornado's warnings and errors
   * only); the first `configureLogging()` without a level turns on `'info'`, as Tornado's
   * `enable_pretty_logging()` does, so access lines appear.
   */
  level?: LogLevel;
  /** Format of the default sink: `'pretty'` (default) or `'json'`. */
  format?: 'pretty' | 'json';
  /** Your own sink; replaces the default one. Pass `null` to restore the default. */
  sink?: LogSink | null;
  /** Force or forbid colours in the pretty format. Default: when stderr is a terminal. */
  color?: boolean;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

const state: {
  threshold: number;
  format: 'pretty' | 'json';
  sink: LogSink | null;
  color: boolean | undefined;
  interceptors: LogInterceptor[];
  configured: boolean;
} = {
  // Unconfigured, typhoon shows what an unconfigured Tornado shows: warnings and errors. A
  // line per request on stderr by default would also cost a busy server a third of its
  // throughput (a synchronous write per request), for output nobody asked for.
  threshold: LEVELS.warning,
  format: 'pretty',
  sink: null,
  color: undefined,
  interceptors: [],
  configured: false,
};

/**
 * Set the level, format and sink used by all three loggers. Options left out keep their
 * current value.
 *
 * @example
 * ```ts
 * const records: LogRecord[] = [];
 * configureLogging({ level: 'debug', sink: (r) => records.push(r) });
 * ```
 * Tornado: `tornado.log.enable_pretty_logging`.
 */
export function configureLogging(options: LoggingOptions = {}): void {
  if (options.level !== undefined) {
    const n = LEVELS[options.level];
    if (n === undefined) throw new RangeError(`unknown log level ${String(options.level)}`);
    state.threshold = n;
  } else if (!state.configured) {
    state.threshold = LEVELS.info;
  }
  state.configured = true;
  if (options.format !== undefined) {
    if (options.format !== 'pretty' && options.format !== 'json') {
      throw new RangeError(`unknown log format ${String(options.format)}`);
    }
    state.format = options.format;
  }
  if (options.sink !== undefined) state.sink = options.sink;
  if (options.color !== undefined) state.color = options.color;
}

/**
 * Install a function that sees every record before the sink and may claim it. Returns a
 * function that removes it. `expectLog` in `typhoon/testing` is built on this.
 */
export function addLogInterceptor(interceptor: LogInterceptor): () => void {
  state.interceptors.push(interceptor);
  return () => {
    const i = state.interceptors.lastIndexOf(interceptor);
    if (i >= 0) state.interceptors.splice(i, 1);
  };
}

/** One of typhoon's named loggers. */
export class Logger {
  /** The logger's name: `access`, `app` or `gen`. */
  readonly name: LoggerName;

  constructor(name: LoggerName) {
    this.name = name;
  }

  /** Whether a record at `level` would be emitted now; use it to skip costly formatting. */
  isEnabledFor(level: LogLevel): boolean {
    return LEVELS[level] >= state.threshold;
  }

  /** Log at debug level. */
  debug(message: string, error?: unknown): void {
    this.log('debug', message, error);
  }

  /** Log at info level. */
  info(message: string, error?: unknown): void {
    this.log('info', message, error);
  }

  /** Log at warning level. */
  warning(message: string, error?: unknown): void {
    this.log('warning', message, error);
  }

  /** Log at error level; pass the error to have its stack printed. */
  error(message: string, error?: unknown): void {
    this.log('error', message, error);
  }

  /** Log at the given level. */
  log(level: LogLevel, message: string, error?: unknown): void {
    if (LEVELS[level] < state.threshold) return;
    const record: LogRecord = { logger: this.name, level, message, time: Date.now() };
    if (error !== undefined) record.error = error;
    for (let i = state.interceptors.length - 1; i >= 0; i--) {
      const interceptor = state.interceptors[i];
      if (interceptor !== undefined && interceptor(record)) return;
    }
    try {
      if (state.sink !== null) state.sink(record);
      else defaultSink(record);
    } catch (sinkError) {
      // A broken sink must not take the caller down with it; say so where it can be seen.
      process.stderr.write(`typhoon: log sink failed: ${String(sinkError)}\n`);
    }
  }
}

/** Per-request access lines. Tornado: `tornado.access`. */
export const accessLog: Logger = new Logger('access');
/** Application errors: uncaught exceptions in callbacks, handlers, coroutines. Tornado: `tornado.application`. */
export const appLog: Logger = new Logger('app');
/** Coroutine machinery. Tornado: `tornado.general`. */
export const genLog: Logger = new Logger('gen');

/** Text of an error for a log line: its stack when it has one, else its string form. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    let text = error.stack ?? `${error.name}: ${error.message}`;
    let cause = error.cause;
    for (let depth = 0; cause !== undefined && depth < 5; depth++) {
      text += `\nCaused by: ${cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause)}`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    return text;
  }
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}

const LEVEL_LETTER: Record<LogLevel, string> = { debug: 'D', info: 'I', warning: 'W', error: 'E' };
const LEVEL_COLOR: Record<LogLevel, string> = {
  debug: '\x1b[34m',
  info: '\x1b[32m',
  warning: '\x1b[33m',
  error: '\x1b[31m',
};

/** The sink used when none is configured. */
function defaultSink(record: LogRecord): void {
  process.stderr.write(formatRecord(record, state.format, state.color ?? process.stderr.isTTY));
}

// The pretty stamp has one-second resolution; an access line per request would otherwise
// build a Date and six padded strings each time.
let stampSecond = Number.NaN;
let stampText = '';

function prettyStamp(time: number): string {
  const second = Math.floor(time / 1000);
  if (second !== stampSecond) {
    const d = new Date(second * 1000);
    const p = (n: number) => String(n).padStart(2, '0');
    stampText = `${p(d.getFullYear() % 100)}${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    stampSecond = second;
  }
  return stampText;
}

/**
 * Format a record as the default sink does: `'pretty'` gives Tornado's layout
 * (`[I 261121 06:00:00 app] message`), `'json'` one JSON object. Ends with a newline.
 */
export function formatRecord(record: LogRecord, format: 'pretty' | 'json', color = false): string {
  if (format === 'json') {
    const out: Record<string, unknown> = {
      time: new Date(record.time).toISOString(),
      level: record.level,
      logger: record.logger,
      message: record.message,
    };
    if (record.error !== undefined) out.error = describeError(record.error);
    return JSON.stringify(out) + '\n';
  }
  const stamp = prettyStamp(record.time);
  let prefix = `[${LEVEL_LETTER[record.level]} ${stamp} ${record.logger}]`;
  if (color) prefix = `${LEVEL_COLOR[record.level]}${prefix}\x1b[39m`;
  let line = `${prefix} ${record.message}`;
  if (record.error !== undefined) line += `\n${describeError(record.error)}`;
  return line + '\n';
}
