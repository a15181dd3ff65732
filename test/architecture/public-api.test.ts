// The public surface: every name DESIGN.md promises is exported from src/index.ts, the
// `exports` map of package.json matches the modules on disk, and src/index.ts lists its names
// explicitly (no `export *`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as api from '../../src/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runtime names DESIGN.md lists as public API, module by module. */
const DESIGN_NAMES: Record<string, string[]> = {
  errors: [
    'TyphoonError',
    'TimeoutError',
    'CancelledError',
    'InvalidStateError',
    'QueueEmpty',
    'QueueFull',
    'StreamClosedError',
    'UnsatisfiableReadError',
    'StreamBufferFullError',
    'HTTPError',
    'HTTPClientError',
    'HTTPInputError',
    'ExecutorShutdownError',
    'WorkerCrashedError',
    'TaskSerializationError',
    'MissingArgumentError',
  ],
  log: ['accessLog', 'appLog', 'genLog', 'configureLogging'],
  concurrent: [
    'Future',
    'isFuture',
    'chainFuture',
    'futureSetResultUnlessCancelled',
    'futureSetExceptionUnlessCancelled',
    'toFuture',
  ],
  executor: ['ThreadPoolExecutor', 'runOnExecutor'],
  ioloop: ['IOLoop', 'PeriodicCallback'],
  gen: [
    'coroutine',
    'multi',
    'multiFuture',
    'withTimeout',
    'sleep',
    'moment',
    'WaitIterator',
    'convertYielded',
    'Task',
    'fromCallback',
  ],
  queues: ['Queue', 'PriorityQueue', 'LifoQueue'],
  locks: ['Condition', 'Event', 'Semaphore', 'BoundedSemaphore', 'Lock'],
  streams: ['IOStream', 'TCPServer', 'TCPClient'],
  httputil: [
    'HTTPHeaders',
    'HTTPServerRequest',
    'HTTPFile',
    'parseBodyArguments',
    'urlConcat',
    'formatTimestamp',
  ],
  httpserver: ['HTTPServer'],
  httpclient: ['AsyncHTTPClient', 'HTTPRequest', 'HTTPResponse', 'HTTPClient'],
  web: [
    'Application',
    'url',
    'RequestHandler',
    'Finish',
    'authenticated',
    'StaticFileHandler',
    'RedirectHandler',
    'ErrorHandler',
    'FallbackHandler',
    'UIModule',
    'EventSourceHandler',
  ],
  websocket: ['WebSocketHandler', 'websocketConnect', 'WebSocketError', 'WebSocketClosedError'],
  testing: ['startTestServer', 'bindUnusedPort', 'expectLog', 'genTest'],
  escape: [
    'xhtmlEscape',
    'xhtmlUnescape',
    'urlEscape',
    'urlUnescape',
    'jsonEncode',
    'jsonDecode',
    'squeeze',
    'linkify',
    'utf8',
    'toUnicode',
    'recursiveUnicode',
  ],
  template: [
    'Template',
    'Loader',
    'DictLoader',
    'BaseLoader',
    'filterWhitespace',
    'ParseError',
    'TemplateNotFoundError',
  ],
  options: [
    'define',
    'options',
    'parseCommandLine',
    'parseConfigFile',
    'printHelp',
    'addParseCallback',
    'OptionParser',
    'OptionError',
    'defineLoggingOptions',
  ],
  locale: [
    'Locale',
    'CSVLocale',
    'GettextLocale',
    'loadTranslations',
    'loadGettextTranslations',
    'setDefaultLocale',
    'getSupportedLocales',
    'LOCALE_NAMES',
    'TranslationError',
  ],
  broker: [
    'MemoryBroker',
    'RedisBroker',
    'formatPosition',
    'parsePosition',
    'position',
    'BrokerClosedError',
    'BrokerRecoveryError',
    'BrokerMessageTooLargeError',
    'BrokerUnavailableError',
  ],
  process: [
    'forkProcesses',
    'taskId',
    'Subprocess',
    'autoreload',
    'CalledProcessError',
    'ForkProcessesError',
  ],
};

for (const [module, names] of Object.entries(DESIGN_NAMES)) {
  test(`src/index.ts exports DESIGN.md's ${module} names`, () => {
    const missing = names.filter((name) => !(name in api));
    assert.deepEqual(missing, [], `missing from src/index.ts`);
  });
}

test('Future.fromPromise exists as DESIGN.md says', () => {
  assert.equal(typeof api.Future.fromPromise, 'function');
});

test('src/index.ts names every export explicitly (no export *)', () => {
  const text = readFileSync(join(root, 'src/index.ts'), 'utf8');
  assert.doesNotMatch(text, /export\s+\*/);
});

test('package.json exports map matches the modules on disk', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { types: string; default: string }>;
  };
  const problems: string[] = [];
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const source = target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    if (!existsSync(join(root, source))) problems.push(`${subpath} -> ${source} does not exist`);
    if (target.types !== target.default.replace(/\.js$/, '.d.ts')) {
      problems.push(`${subpath}: types and default disagree`);
    }
  }
  for (const module of [
    'errors',
    'log',
    'concurrent',
    'executor',
    'ioloop',
    'gen',
    'locks',
    'queues',
    'escape',
    'template',
    'netutil',
    'iostream',
    'tcpserver',
    'tcpclient',
    'httputil',
    'httpserver',
    'httpclient',
    'web',
    'websocket',
    'testing',
    'locale',
    'options',
    'broker',
    'process',
    'autoreload',
  ]) {
    if (!(`./${module}` in pkg.exports)) problems.push(`no subpath export ./${module}`);
  }
  assert.deepEqual(problems, []);
});
