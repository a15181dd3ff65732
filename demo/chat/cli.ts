/**
 * The chat demo's command line, on `typhoon/options` (Tornado's `tornado.options`):
 *
 *     npm start -- --help
 *     npm start -- --port 9000 --debug
 *     npm start -- --processes 4 --redis-url redis://127.0.0.1:6379
 *
 * {@link parseChatOptions} turns argv into {@link ChatOptions} or throws `OptionError` for a
 * bad option and {@link ChatConfigError} for a combination that cannot work; `server.ts`
 * prints either with a hint to `--help` and exits 2.
 */
import { OptionParser, defineLoggingOptions } from '../../src/options/index.ts';

/** The demo's settings, parsed. */
export interface ChatOptions {
  host: string;
  port: number;
  /** Processes serving the chat (`0`: one per core). */
  processes: number;
  debug: boolean;
  /** The Redis the processes share, or null for the in-process `MemoryBroker`. */
  redisUrl: string | null;
  /** The cookie signing secret, or null to make one (shared by this run's processes). */
  cookieSecret: string | null;
  /** How long a stopping server lets requests finish, in ms. */
  drainTimeout: number;
}

/** A combination of options that cannot work; the message says why. */
export class ChatConfigError extends Error {
  override name = 'ChatConfigError';
}

/** The demo's option set (a private parser: the global one belongs to the application). */
export function chatOptionParser(): OptionParser {
  const parser = new OptionParser();
  const group = 'typhoon chat demo';
  parser.define('host', { default: '127.0.0.1', help: 'address to listen on', group });
  parser.define('port', { default: 8888, help: 'port to listen on (0: any free port)', group });
  parser.define('processes', {
    default: 1,
    help: 'processes to serve from (0: one per core); more than one needs --redis-url',
    group,
  });
  parser.define('debug', {
    default: false,
    help: 'development mode: reload on a code or template change, templates never cached',
    group,
  });
  parser.define('redis-url', {
    type: String,
    metavar: 'URL',
    help: 'share messages through this Redis (redis://host:port) instead of this process only',
    group,
  });
  parser.define('cookie-secret', {
    type: String,
    metavar: 'SECRET',
    help: 'cookie signing secret; give every machine of one chat the same (default: random per run)',
    group,
  });
  parser.define('drain-timeout', {
    type: 'duration',
    default: 1000,
    help: 'on SIGTERM/SIGINT, how long requests get to finish (150ms, 2s, …)',
    group,
  });
  defineLoggingOptions(parser);
  return parser;
}

/**
 * Parse the demo's command line. Throws `OptionError` (naming the option) for an unknown
 * option or a bad value, {@link ChatConfigError} for several processes without Redis;
 * `--help` prints the options and exits 0.
 *
 * @example
 * ```ts
 * const settings = parseChatOptions(['--processes', '4', '--redis-url', 'redis://127.0.0.1:6379']);
 * ```
 */
export function parseChatOptions(argv: readonly string[]): ChatOptions {
  const parser = chatOptionParser();
  const rest = parser.parseCommandLine(argv);
  if (rest.length > 0) {
    throw new ChatConfigError(`unexpected argument ${JSON.stringify(rest[0])}`);
  }
  const port = parser.port as number;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ChatConfigError(`--port must be a port number (0 to 65535), got ${port}`);
  }
  const processes = parser.processes as number;
  if (!Number.isInteger(processes) || processes < 0) {
    throw new ChatConfigError(`--processes must be 0 or more, got ${processes}`);
  }
  const redisUrl = (parser['redis-url'] as string | null) || null;
  if (processes !== 1 && redisUrl === null) {
    throw new ChatConfigError(
      `--processes ${processes} needs --redis-url: without a shared broker each process keeps ` +
        'its messages to itself, and a message would not reach the clients of the other processes',
    );
  }
  return {
    host: parser.host as string,
    port,
    processes,
    debug: parser.debug as boolean,
    redisUrl,
    cookieSecret: (parser['cookie-secret'] as string | null) || null,
    drainTimeout: parser['drain-timeout'] as number,
  };
}
