/// <reference types="node" preserve="true" />

/**
 * typhoon: Tornado's asynchronous networking and web system for TypeScript on Node.js.
 *
 * This file is the public surface: every public name is listed here explicitly. Each module
 * is also importable on its own (`typhoon/web`, `typhoon/httpclient`, …).
 * @module typhoon
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
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
  WebSocketError,
  WebSocketClosedError,
  OptionError,
  TranslationError,
  ParseError,
  TemplateNotFoundError,
  BrokerClosedError,
  BrokerRecoveryError,
  BrokerMessageTooLargeError,
  BrokerUnavailableError,
  ForkProcessesError,
  CalledProcessError,
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
export { ThreadPoolExecutor, defaultExecutor, runOnExecutor, transfer } from './executor/index.ts';
export type {
  Executor,
  ThreadPoolExecutorOptions,
  ShutdownOptions,
  RunOnExecutorOptions,
  TransferableValue,
} from './executor/index.ts';

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
export { Condition, Event, Semaphore, BoundedSemaphore, Lock } from './locks.ts';
export type { WaitOptions, Releaser } from './locks.ts';

// --- queues --------------------------------------------------------------------------------
export { Queue, PriorityQueue, LifoQueue } from './queues.ts';
export type { QueueOptions, PriorityQueueOptions } from './queues.ts';

// --- escape --------------------------------------------------------------------------------
export {
  xhtmlEscape,
  xhtmlUnescape,
  urlEscape,
  urlUnescape,
  jsonEncode,
  jsonDecode,
  squeeze,
  linkify,
  utf8,
  toUnicode,
  recursiveUnicode,
} from './escape.ts';
export type { LinkifyOptions, UrlUnescapeOptions } from './escape.ts';

// --- template ------------------------------------------------------------------------------
export { Template, BaseLoader, Loader, DictLoader, filterWhitespace } from './template/index.ts';
export type {
  TemplateOptions,
  TemplateNamespace,
  TemplateLoader,
  LoaderOptions,
  WhitespaceMode,
} from './template/index.ts';

// --- options -------------------------------------------------------------------------------
export {
  OptionParser,
  options,
  define,
  parseCommandLine,
  parseConfigFile,
  printHelp,
  addParseCallback,
  defineLoggingOptions,
  parseDuration,
} from './options/index.ts';
export type { OptionType, DefineOptions, ParseOptions, TextSink } from './options/index.ts';

// --- locale --------------------------------------------------------------------------------
export {
  Locale,
  CSVLocale,
  GettextLocale,
  loadTranslations,
  loadGettextTranslations,
  setDefaultLocale,
  getSupportedLocales,
  LOCALE_NAMES,
} from './locale/index.ts';
export type {
  FormatDateOptions,
  FormatDayOptions,
  LoadTranslationsOptions,
  LocaleName,
} from './locale/index.ts';

// --- netutil / iostream / tcpserver / tcpclient --------------------------------------------
export {
  bindSockets,
  bindUnixSocket,
  addAcceptHandler,
  peerAddress,
  isValidIp,
  sslOptionsToContext,
  DefaultResolver,
} from './netutil.ts';
export type {
  StreamAddress,
  BindSocketsOptions,
  BindUnixSocketOptions,
  ResolvedAddress,
} from './netutil.ts';
export { IOStream, DEFAULT_MAX_BUFFER_SIZE } from './iostream/index.ts';
export type {
  IOStreamOptions,
  ConnectOptions,
  ReadUntilOptions,
  ReadBytesOptions,
} from './iostream/index.ts';
export { TCPServer } from './tcpserver.ts';
export type { TCPServerOptions } from './tcpserver.ts';
export { TCPClient } from './tcpclient.ts';
export type { TCPClientConnectOptions } from './tcpclient.ts';

// --- httputil ------------------------------------------------------------------------------
export {
  HTTPHeaders,
  HTTPServerRequest,
  HTTPFile,
  parseQs,
  parseBodyArguments,
  parseMultipartFormData,
  parseHeaderValue,
  parseCookie,
  urlConcat,
  formatTimestamp,
  splitHostAndPort,
  normalizeHeaderName,
  DEFAULT_MAX_FIELDS,
} from './httputil/index.ts';
export type {
  HTTPHeadersInit,
  ArgumentMap,
  FileMap,
  ParseQsOptions,
  ParseBodyOptions,
  HTTPServerRequestInit,
  HTTPConnection,
  HTTPMessageDelegate,
  HTTPServerConnectionDelegate,
  HTTPRequestCallback,
  RawConnection,
  WriteCallback,
} from './httputil/index.ts';

// --- httpserver ----------------------------------------------------------------------------
export { HTTPServer } from './httpserver/index.ts';
export type { HTTPServerOptions, StopOptions } from './httpserver/index.ts';

// --- httpclient ----------------------------------------------------------------------------
export {
  AsyncHTTPClient,
  HTTPClient,
  HTTPRequest,
  HTTPResponse,
  REQUEST_DEFAULTS,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_MAX_CLIENTS,
} from './httpclient/index.ts';
export type {
  AsyncHTTPClientOptions,
  AsyncHTTPClientConstructorOptions,
  HTTPClientStats,
  HTTPClientOptions,
  HTTPRequestOptions,
  FetchOptions,
  BodyProducer,
  HTTPResponseInit,
  HeaderMap,
  HeadersInput,
  TimeInfo,
} from './httpclient/index.ts';

// --- web -----------------------------------------------------------------------------------
export {
  Application,
  RequestHandler,
  HandlerOutput,
  Finish,
  URLSpec,
  url,
  RedirectHandler,
  ErrorHandler,
  FallbackHandler,
} from './web/index.ts';
export type {
  ApplicationSettings,
  ApplicationLike,
  HandlerLike,
  HandlerClass,
  Rule,
  RouteMatch,
  OutputTransform,
  OutputTransformFactory,
  HeaderValue,
  RedirectOptions,
  ErrorOptions,
  WriteChunk,
  PathMatch,
  RuleSpec,
  RedirectHandlerArgs,
  ErrorHandlerArgs,
  FallbackHandlerArgs,
  NodeRequestListener,
} from './web/index.ts';
export { createSignedValue, decodeSignedValue, getSignatureKeyVersion } from './web/index.ts';
export type {
  SignedValueSecret,
  CreateSignedValueOptions,
  DecodeSignedValueOptions,
} from './web/index.ts';
export { authenticated } from './web/index.ts';
export type { CookieOptions, SignedCookieOptions, GetSignedCookieOptions } from './web/index.ts';
export { StaticFileHandler } from './web/index.ts';
export type { StaticFileHandlerArgs } from './web/index.ts';
export { GZipContentEncoding, isCompressibleType, acceptsGzip } from './web/index.ts';
export { MultipartStreamHandler } from './web/index.ts';
export { UIModule, TemplateModule } from './web/index.ts';
export type { UIModuleHost, ResourceFiles, TemplateResources } from './web/index.ts';
export type { StreamedPart, MultipartStreamLimits } from './web/index.ts';
export {
  EventSourceHandler,
  DEFAULT_SSE_HEARTBEAT_INTERVAL,
  DEFAULT_SSE_MAX_WRITE_BUFFER,
} from './web/index.ts';
export type { ServerSentEvent } from './web/index.ts';

// --- websocket -----------------------------------------------------------------------------
export {
  WebSocketHandler,
  WebSocketClientConnection,
  websocketConnect,
  DEFAULT_MAX_MESSAGE_SIZE,
} from './websocket/index.ts';
export type {
  WebSocketMessage,
  WebSocketWritable,
  WriteMessageOptions,
  CompressionOptions,
  WebSocketConnectOptions,
} from './websocket/index.ts';

// --- broker --------------------------------------------------------------------------------
export {
  MemoryBroker,
  RedisBroker,
  formatPosition,
  parsePosition,
  position,
  encodedData,
} from './broker/index.ts';
export type {
  Broker,
  BrokerLimits,
  BrokerOptions,
  RedisBrokerOptions,
  HistoryOptions,
  HistoryResult,
  JSONValue,
  Publication,
  StreamOptions,
  StreamPosition,
  Subscription,
  WaitForOptions,
} from './broker/index.ts';

// --- process -------------------------------------------------------------------------------
export { forkProcesses, taskId, Subprocess, autoreload } from './process/index.ts';
export type {
  ForkProcessesOptions,
  SubprocessOptions,
  SubprocessStdio,
  WaitForExitOptions,
  AutoreloadOptions,
} from './process/index.ts';

// --- testing -------------------------------------------------------------------------------
export { expectLog, bindUnusedPort, genTest, startTestServer } from './testing.ts';
export type { ExpectLogOptions, GenTestOptions, TestServer, TestServerTarget } from './testing.ts';
