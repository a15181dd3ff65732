/// <reference types="node" preserve="true" />

/**
 * Every error typhoon raises, in one module.
 *
 * All of them extend {@link TyphoonError}, so `err instanceof TyphoonError` tells a typhoon
 * failure from anything else. Each class has a stable string {@link TyphoonError.errorCode}
 * (`TYPHOON_TIMEOUT`, …) that never changes between releases, `name` equal to the class name,
 * and passes `cause` through. Fields a caller needs to act on travel with the error:
 * `realError` on {@link StreamClosedError}, `statusCode` on {@link HTTPError}, `code` and
 * `response` on {@link HTTPClientError}, `exitCode` on {@link WorkerCrashedError}.
 *
 * Why `errorCode` and not Node's usual `code`: Tornado's `HTTPClientError.code` is the HTTP
 * status (599 for network failures), and code ported from Tornado reads it; keeping `code` for
 * that one meaning avoids a field whose type changes from class to class.
 *
 * @example
 * ```ts
 * import { TimeoutError, withTimeout } from 'typhoon';
 * try {
 *   await withTimeout(slowThing(), 1000);
 * } catch (err) {
 *   if (err instanceof TimeoutError) console.log(err.errorCode); // 'TYPHOON_TIMEOUT'
 * }
 * ```
 * @module typhoon/errors
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
/** Options every typhoon error accepts. */
export interface TyphoonErrorOptions {
  /** The underlying failure, kept as the standard `Error.cause`. */
  cause?: unknown;
}

/**
 * The base class of every error typhoon raises.
 *
 * Tornado has no single base; catching `TyphoonError` is the typhoon way to say "anything
 * typhoon raised". Subclasses set a static `errorCode`, copied onto each instance, and may set
 * a static `defaultMessage`, the message of an instance created without one (so a subclass
 * needs no constructor just for that).
 */
export class TyphoonError extends Error {
  /** Stable, documented identifier of this class of failure. */
  static readonly errorCode: string = 'TYPHOON_ERROR';
  /** The message of an instance created without one. */
  static readonly defaultMessage: string = '';
  /** The class's {@link TyphoonError.errorCode}, on the instance for convenience. */
  readonly errorCode: string;

  constructor(message?: string, options?: TyphoonErrorOptions) {
    super(
      message ?? (new.target as typeof TyphoonError).defaultMessage,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.errorCode = (new.target as typeof TyphoonError).errorCode;
  }
}

// ---------------------------------------------------------------------------------------------
// Concurrency core
// ---------------------------------------------------------------------------------------------

/**
 * An operation took longer than its deadline (`withTimeout`, a queue or lock timeout,
 * `runSync`). Tornado: `tornado.util.TimeoutError`.
 */
export class TimeoutError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_TIMEOUT';
  static override readonly defaultMessage: string = 'Timeout';
}

/**
 * The Future was cancelled: `result()` of a cancelled Future, or thrown into a coroutine at
 * its `yield` when its Future is cancelled. Tornado: `asyncio.CancelledError`.
 */
export class CancelledError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_CANCELLED';
  static override readonly defaultMessage: string = 'Cancelled';
}

/**
 * An operation is not allowed in the object's current state: `setResult()` on a finished
 * Future, `result()` of a pending one, `Lock.release()` while unlocked.
 * Tornado: `asyncio.InvalidStateError`.
 */
export class InvalidStateError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_INVALID_STATE';
}

/** `getNowait()` on an empty queue. Tornado: `tornado.queues.QueueEmpty`. */
export class QueueEmpty extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_QUEUE_EMPTY';
  static override readonly defaultMessage: string = 'Queue is empty';
}

/** `putNowait()` on a full queue. Tornado: `tornado.queues.QueueFull`. */
export class QueueFull extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_QUEUE_FULL';
  static override readonly defaultMessage: string = 'Queue is full';
}

// ---------------------------------------------------------------------------------------------
// Executor
// ---------------------------------------------------------------------------------------------

/** Work was submitted to an executor after `shutdown()`. */
export class ExecutorShutdownError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_EXECUTOR_SHUTDOWN';
  static override readonly defaultMessage: string = 'Executor has been shut down';
}

/** The worker thread died (crash, `process.exit`) while running the task. */
export class WorkerCrashedError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_WORKER_CRASHED';
  /** The worker's exit code, when it exited; `undefined` when it died another way. */
  readonly exitCode: number | undefined;
  constructor(message: string, options?: TyphoonErrorOptions & { exitCode?: number }) {
    super(message, options);
    this.exitCode = options?.exitCode;
  }
}

/** A task's function, an argument or its result cannot cross to or from a worker thread. */
export class TaskSerializationError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_TASK_SERIALIZATION';
}

// ---------------------------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------------------------

/**
 * The stream is closed: a read or write on a closed stream, or the peer went away while an
 * operation was pending. `realError` is the socket error that closed it, when there was one.
 * Tornado: `tornado.iostream.StreamClosedError`.
 */
export class StreamClosedError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_STREAM_CLOSED';
  /** The underlying error that caused the close, if any (also `cause`). */
  readonly realError: Error | undefined;
  static override readonly defaultMessage: string = 'Stream is closed';
  constructor(message?: string, options?: { realError?: Error | undefined }) {
    super(message, options?.realError ? { cause: options.realError } : undefined);
    this.realError = options?.realError;
  }
}

/**
 * A read cannot be satisfied: more than `maxBytes` arrived without the delimiter.
 * Tornado: `tornado.iostream.UnsatisfiableReadError`.
 */
export class UnsatisfiableReadError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_UNSATISFIABLE_READ';
}

/** The stream's read buffer passed `maxBufferSize`. Tornado: `StreamBufferFullError`. */
export class StreamBufferFullError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_STREAM_BUFFER_FULL';
  static override readonly defaultMessage: string = 'Reached maximum read buffer size';
}

/** A second read was started while one of the same kind is still pending. */
export class ReadInProgressError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_READ_IN_PROGRESS';
  static override readonly defaultMessage: string = 'Already reading';
}

/** A TCP connection could not be established (refused, unreachable, timed out). */
export class ConnectError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_CONNECT';
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/**
 * Malformed HTTP input: bad framing, a bad header, bad percent-encoding, too many fields.
 * Tornado: `tornado.httputil.HTTPInputError`.
 */
export class HTTPInputError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_HTTP_INPUT';
}

/**
 * Misuse of the HTTP output side: writing after `finish()`, a header value with CR/LF, a
 * body on a 204/304. Tornado: `tornado.httputil.HTTPOutputError`.
 */
export class HTTPOutputError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_HTTP_OUTPUT';
}

/** Options of {@link HTTPError}. */
export interface HTTPErrorOptions extends TyphoonErrorOptions {
  /** Reason phrase for the status line, e.g. `Not Found`; derived from the code if omitted. */
  reason?: string;
}

/**
 * Raise to end a request with an HTTP error status. The `logMessage` goes to the log (with
 * `%s`-style arguments substituted), never to the client. Tornado: `tornado.web.HTTPError`.
 *
 * @example
 * ```ts
 * throw new HTTPError(404, 'no user %s', userId);
 * throw new HTTPError(409, undefined, { reason: 'Already Exists' });
 * ```
 */
export class HTTPError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_HTTP_ERROR';
  /** The HTTP status code to send. */
  readonly statusCode: number;
  /** Message for the log, after `%s` substitution; `undefined` when none was given. */
  readonly logMessage: string | undefined;
  /** The reason phrase, when one was given. */
  readonly reason: string | undefined;

  constructor(
    statusCode = 500,
    logMessage?: string,
    ...rest: Array<string | number | boolean | HTTPErrorOptions | undefined | null>
  ) {
    let options: HTTPErrorOptions | undefined;
    const last = rest[rest.length - 1];
    if (last !== null && typeof last === 'object') {
      options = last;
      rest = rest.slice(0, -1);
    }
    let formatted = logMessage;
    if (formatted !== undefined && rest.length > 0) {
      let i = 0;
      formatted = formatted.replace(/%[sdr]/g, (m) => (i < rest.length ? String(rest[i++]) : m));
    }
    super(
      `HTTP ${statusCode}${options?.reason ? `: ${options.reason}` : ''}${formatted ? ` (${formatted})` : ''}`,
      options,
    );
    this.statusCode = statusCode;
    this.logMessage = formatted;
    this.reason = options?.reason;
  }
}

/**
 * A required argument is missing: `getArgument(name)` without a default. Answers 400.
 * Tornado: `tornado.web.MissingArgumentError`.
 */
export class MissingArgumentError extends HTTPError {
  static override readonly errorCode: string = 'TYPHOON_MISSING_ARGUMENT';
  /** The name of the missing argument. */
  readonly argName: string;
  constructor(argName: string) {
    super(400, `Missing argument ${argName}`);
    this.argName = argName;
  }
}

/** Options of {@link HTTPClientError}. */
export interface HTTPClientErrorOptions<R> extends TyphoonErrorOptions {
  /** The response, when one (or part of one) was received. */
  response?: R | undefined;
}

/**
 * A failed HTTP fetch. `code` is the HTTP status, or 599 for network failures and timeouts
 * (the cause then says which); `response` is the response when there was one.
 * Tornado: `tornado.httpclient.HTTPClientError` (`HTTPError`).
 */
export class HTTPClientError<R = unknown> extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_HTTP_CLIENT';
  /** HTTP status code; 599 when no status was received. */
  readonly code: number;
  /** The response that carried the error status, if any. */
  readonly response: R | undefined;

  constructor(code: number, message?: string, options?: HTTPClientErrorOptions<R>) {
    super(`HTTP ${code}: ${message ?? statusReason(code)}`, options);
    this.code = code;
    this.response = options?.response;
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

/**
 * A WebSocket was used in a way it does not allow: an HTTP response method (`setHeader`,
 * `setCookie`, `setStatus`, `redirect`, `write`, `flush`, `finish`) called on a
 * `WebSocketHandler` after the handshake, when there is no HTTP response any more. The base
 * class of {@link WebSocketClosedError}, so one `instanceof` catches every WebSocket failure.
 *
 * @example
 * ```ts
 * try {
 *   await this.writeMessage(update);
 * } catch (err) {
 *   if (!(err instanceof WebSocketError)) throw err;
 * }
 * ```
 * Tornado: `tornado.websocket.WebSocketError` (and the `RuntimeError` its handler raises for
 * `set_header` and the like once upgraded).
 */
export class WebSocketError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_WEBSOCKET';
  static override readonly defaultMessage: string = 'WebSocket error';
}

/**
 * Sending on or reading from a closed WebSocket, including the write that would take a
 * handler's unsent data past `websocketMaxWriteBuffer` (and every write after it).
 * Tornado: `WebSocketClosedError`.
 */
export class WebSocketClosedError extends WebSocketError {
  static override readonly errorCode: string = 'TYPHOON_WEBSOCKET_CLOSED';
  static override readonly defaultMessage: string = 'WebSocket is closed';
}

// ---------------------------------------------------------------------------------------------
// Text: options, locale
// ---------------------------------------------------------------------------------------------

/**
 * A command-line option, config file value or option definition was refused: an unknown
 * option, a value of the wrong type, a missing value, a malformed duration, date or range, a
 * second definition of a name. The message names the option; so does {@link OptionError.option}.
 *
 * @example
 * ```ts
 * try {
 *   parseCommandLine();
 * } catch (err) {
 *   if (!(err instanceof OptionError)) throw err;
 *   console.error(`${err.message} (see --help)`);
 *   process.exit(2);
 * }
 * ```
 * Tornado: `tornado.options.Error`.
 */
export class OptionError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_OPTION';
  /** The option's name as written by the user or the definition, when there is one. */
  readonly option: string | undefined;
  constructor(message: string, options?: TyphoonErrorOptions & { option?: string }) {
    super(message, options);
    this.option = options?.option;
  }
}

/**
 * A translation file could not be loaded: a malformed CSV row (an unknown plural indicator,
 * an unterminated quote), bytes that are not valid in the file's encoding, a broken `.mo`
 * file or `Plural-Forms` expression. The message names the file and, where there is one, the
 * line; the same travel as {@link TranslationError.filename} and {@link TranslationError.lineno}.
 *
 * @example
 * ```ts
 * try {
 *   loadTranslations('translations');
 * } catch (err) {
 *   if (err instanceof TranslationError) console.error(err.filename, err.lineno);
 * }
 * ```
 * Tornado logs such rows (`Unrecognized plural indicator`) and skips them; typhoon refuses the
 * load, so a broken translation is found when the server starts, not by a user.
 */
export class TranslationError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_TRANSLATION';
  /** The file that was refused (empty when none was named). */
  readonly filename: string;
  /** Its 1-based line where the problem starts, or 0 when it is not about one line. */
  readonly lineno: number;
  constructor(
    message: string,
    options?: TyphoonErrorOptions & { filename?: string; lineno?: number },
  ) {
    const filename = options?.filename ?? '';
    const lineno = options?.lineno ?? 0;
    const where = filename === '' ? '' : ` in ${filename}${lineno > 0 ? ` line ${lineno}` : ''}`;
    super(message + where, options);
    this.filename = filename;
    this.lineno = lineno;
  }
}

/**
 * A template is malformed: an unclosed `{{`, `{%` or `{#`, a block without its `{% end %}`, an
 * `{% else %}` outside an `if`, an expression that is not valid JavaScript, … The message
 * reads `"<reason> at <file>:<line>"` with Tornado's wording; the parts travel as
 * {@link ParseError.reason}, {@link ParseError.filename} and {@link ParseError.lineno}.
 * `new ParseError(message, options)` works too, as for every typhoon error.
 *
 * @example
 * ```ts
 * try {
 *   new Template('\n\n{{', { name: 'foo.html' });
 * } catch (err) {
 *   if (err instanceof ParseError) console.log(err.message); // 'Missing end expression }} at foo.html:3'
 * }
 * ```
 * Tornado: `tornado.template.ParseError`.
 */
export class ParseError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_TEMPLATE_PARSE';
  /** The problem without its position, e.g. `Missing end expression }}`. */
  readonly reason: string;
  /** The template's name, `undefined` when none was given. */
  readonly filename: string | undefined;
  /** The 1-based line of the problem, 0 when unknown. */
  readonly lineno: number;
  constructor(
    message: string,
    filename?: string | TyphoonErrorOptions,
    lineno = 0,
    options?: TyphoonErrorOptions,
  ) {
    // `new ParseError(message, { cause })`, the signature every typhoon error has.
    if (typeof filename === 'object' && filename !== null) {
      options = filename;
      filename = undefined;
    }
    // "None" for a missing name is Tornado's wording (`str(ParseError("asdf"))`).
    super(`${message} at ${filename ?? 'None'}:${lineno}`, options);
    this.reason = message;
    this.filename = filename;
    this.lineno = lineno;
  }
}

/**
 * A template loader was asked for a template it does not have: the file does not exist, or the
 * name leaves the template root (`../x`, an absolute path, a symbolic link pointing outside),
 * which typhoon refuses on purpose. The name travels as {@link TemplateNotFoundError.templateName};
 * a file-system error is the `cause`.
 *
 * @example
 * ```ts
 * try {
 *   loader.load('../secrets.txt');
 * } catch (err) {
 *   if (err instanceof TemplateNotFoundError) console.log(err.templateName);
 * }
 * ```
 * Tornado raises the file's `OSError` and reads names outside the root; typhoon does not.
 */
export class TemplateNotFoundError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_TEMPLATE_NOT_FOUND';
  /** The name asked for, as given. */
  readonly templateName: string | undefined;
  constructor(message: string, options?: TyphoonErrorOptions & { templateName?: string }) {
    super(message, options);
    this.templateName = options?.templateName;
  }
}

// ---------------------------------------------------------------------------------------------
// Broker
// ---------------------------------------------------------------------------------------------

/** A broker position `{offset, epoch}` (declared here so errors need no import from broker/). */
export interface BrokerPositionLike {
  /** The channel's offset (publications count from 1; 0 before the first). */
  offset: number;
  /** The engine's epoch for the channel. */
  epoch: string;
}

/** A call on a broker after its `close()`, or a stream or wait that `close()` ended. */
export class BrokerClosedError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_BROKER_CLOSED';
  constructor(message = 'Broker is closed', options?: TyphoonErrorOptions) {
    super(message, options);
  }
}

/**
 * A position cannot be resumed from: it is from another epoch (the engine lost the channel's
 * history, e.g. a Redis restarted without persistence), older than the history kept, or ahead
 * of the channel's latest publication. `position` is the channel's latest position: re-sync
 * the client from your own data, then resume from there.
 */
export class BrokerRecoveryError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_BROKER_RECOVERY';
  /** The channel's latest position, to resume from after a re-sync. */
  readonly position: BrokerPositionLike;
  constructor(
    message = 'Cannot resume from this position',
    options?: TyphoonErrorOptions & { position?: BrokerPositionLike },
  ) {
    super(message, options);
    const pos = options?.position ?? { offset: 0, epoch: '' };
    this.position = { offset: pos.offset, epoch: pos.epoch };
  }
}

/** A published message is larger than the broker's `maxMessageSize` (as UTF-8 JSON). */
export class BrokerMessageTooLargeError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_BROKER_MESSAGE_TOO_LARGE';
}

/**
 * The broker's backing service (Redis) cannot be reached: it does not answer at startup, or an
 * outage is under way. A publish that fails this way may or may not have been stored.
 */
export class BrokerUnavailableError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_BROKER_UNAVAILABLE';
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/**
 * `forkProcesses` used in a way that would fork the wrong number of processes: a second call
 * in the same process (which in the children would fork again, a fork bomb), a count that is
 * negative or not an integer, or a call from a cluster worker that `forkProcesses` did not start.
 * Tornado: the `RuntimeError`/`AssertionError` of `tornado.process.fork_processes`.
 */
export class ForkProcessesError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_FORK_PROCESSES';
}

/**
 * A subprocess exited with a non-zero status (`Subprocess.waitForExit()` with `raiseError`).
 * `returncode` is the status, or the negative signal number when a signal killed it (-9 for
 * `SIGKILL`); `cmd` is the argv it ran. Tornado: `subprocess.CalledProcessError`.
 */
export class CalledProcessError extends TyphoonError {
  static override readonly errorCode: string = 'TYPHOON_CALLED_PROCESS';
  /** The exit status, or minus the number of the signal that killed the process. */
  readonly returncode: number;
  /** The command that ran: the argv given to `Subprocess`. */
  readonly cmd: readonly string[];
  constructor(
    returncode: number,
    options?: TyphoonErrorOptions & { cmd?: readonly string[]; message?: string },
  ) {
    const cmd = options?.cmd ?? [];
    super(
      options?.message ??
        `Command ${JSON.stringify(cmd)} ` +
          (returncode < 0
            ? `died with signal ${-returncode}`
            : `returned non-zero exit status ${returncode}`),
      options,
    );
    this.returncode = returncode;
    this.cmd = [...cmd];
  }
}

/** Reason phrases for the status codes typhoon knows, used in messages and status lines. */
export function statusReason(code: number): string {
  return STATUS_REASONS[code] ?? 'Unknown';
}

const STATUS_REASONS: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  102: 'Processing',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  208: 'Already Reported',
  226: 'IM Used',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a Teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Entity',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  510: 'Not Extended',
  511: 'Network Authentication Required',
  599: 'Network Error',
};
