/**
 * typhoon: Tornado's asynchronous networking and web system for TypeScript on Node.js.
 *
 * This file is the public surface: every public name is listed here explicitly. Each module
 * is also importable on its own (`typhoon/web`, `typhoon/httpclient`, …).
 * @module
 */

// --- errors --------------------------------------------------------------------------------
export {
  TyphoonError,
  TimeoutError,
  CancelledError,
  InvalidStateError,
  QueueEmpty,
  QueueFull,
  ExecutorShutdownError,
  WorkerCrashedError,
  TaskSerializationError,
  StreamClosedError,
  UnsatisfiableReadError,
  StreamBufferFullError,
  ReadInProgressError,
  ConnectError,
  HTTPInputError,
  HTTPOutputError,
  HTTPError,
  MissingArgumentError,
  HTTPClientError,
  WebSocketClosedError,
  statusReason,
} from './errors.ts';
export type { TyphoonErrorOptions, HTTPErrorOptions, HTTPClientErrorOptions } from './errors.ts';

// --- log -----------------------------------------------------------------------------------
export {
  Logger,
  accessLog,
  appLog,
  genLog,
  configureLogging,
  addLogInterceptor,
  formatRecord,
  describeError,
} from './log.ts';
export type {
  LogLevel,
  LoggerName,
  LogRecord,
  LogSink,
  LogInterceptor,
  LoggingOptions,
} from './log.ts';

// --- concurrent ----------------------------------------------------------------------------
export {
  Future,
  isFuture,
  isThenable,
  toFuture,
  chainFuture,
  futureSetResultUnlessCancelled,
  futureSetExceptionUnlessCancelled,
  futureAddDoneCallback,
  resolvedFuture,
  failedFuture,
} from './concurrent.ts';
export type { DoneCallback, Thenable, Awaitable } from './concurrent.ts';

// --- executor ------------------------------------------------------------------------------
export { defaultExecutor } from './executor.ts';
export type { Executor } from './executor.ts';

// --- ioloop --------------------------------------------------------------------------------
export { IOLoop, PeriodicCallback } from './ioloop.ts';
export type { TimeoutHandle, BlockingLogOptions, StallReport, LoopLag } from './ioloop.ts';

// --- gen -----------------------------------------------------------------------------------
export {
  coroutine,
  multi,
  multiFuture,
  withTimeout,
  sleep,
  moment,
  WaitIterator,
  convertYielded,
  Task,
  fromCallback,
} from './gen.ts';
export type {
  QuietExceptions,
  QuietOptions,
  MultiResult,
  GeneratorFunction,
  NodeCallback,
} from './gen.ts';

// --- locks ---------------------------------------------------------------------------------

// --- queues --------------------------------------------------------------------------------

// --- netutil / iostream / tcpserver / tcpclient --------------------------------------------

// --- httputil ------------------------------------------------------------------------------

// --- httpserver ----------------------------------------------------------------------------

// --- httpclient ----------------------------------------------------------------------------

// --- web -----------------------------------------------------------------------------------

// --- websocket -----------------------------------------------------------------------------

// --- testing -------------------------------------------------------------------------------
export { expectLog, bindUnusedPort, genTest } from './testing.ts';
export type { ExpectLogOptions, GenTestOptions } from './testing.ts';
