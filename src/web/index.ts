/// <reference types="node" preserve="true" />

/**
 * typhoon's web framework: {@link Application} routes requests to {@link RequestHandler}
 * subclasses; ready-made handlers cover redirects, fixed errors and mounting plain Node
 * handlers.
 *
 * @example
 * ```ts
 * import { Application, RequestHandler } from 'typhoon/web';
 * class MainHandler extends RequestHandler {
 *   get() { this.write('Hello, world'); }
 * }
 * await new Application([['/', MainHandler]]).listen(8888);
 * ```
 * Tornado: `tornado.web`.
 * @module typhoon/web
 */
// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
export { Application } from './application.ts';
export type {
  ApplicationSettings,
  ApplicationLike,
  HandlerLike,
  HandlerClass,
  Rule,
  RouteMatch,
  OutputTransform,
  OutputTransformFactory,
  CookieOptions,
} from './settings.ts';
export { RequestHandler, Finish } from './request-handler.ts';
export type { RedirectOptions, ErrorOptions } from './request-handler.ts';
export { HandlerOutput } from './output.ts';
export type { HeaderValue, WriteChunk } from './output.ts';
export { URLSpec, url } from './routing.ts';
export type { PathMatch, RuleSpec, HandlerClassLike } from './routing.ts';
export { RedirectHandler, ErrorHandler, FallbackHandler } from './handlers.ts';
export type {
  RedirectHandlerArgs,
  ErrorHandlerArgs,
  FallbackHandlerArgs,
  NodeRequestListener,
} from './handlers.ts';
export { authenticated } from './auth.ts';
export { StaticFileHandler } from './static-file-handler.ts';
export { GZipContentEncoding, isCompressibleType, acceptsGzip } from './transforms.ts';
export { createSignedValue, decodeSignedValue, getSignatureKeyVersion } from './signed-value.ts';
export type {
  SignedValueSecret,
  CreateSignedValueOptions,
  DecodeSignedValueOptions,
} from './signed-value.ts';
export { MultipartStreamHandler } from './multipart-stream.ts';
export { UIModule, TemplateModule } from './ui-modules.ts';
export type { UIModuleHost, ResourceFiles, TemplateResources } from './ui-modules.ts';
export {
  EventSourceHandler,
  DEFAULT_SSE_HEARTBEAT_INTERVAL,
  DEFAULT_SSE_MAX_WRITE_BUFFER,
} from './event-source.ts';
export type { ServerSentEvent } from './event-source.ts';
export type { SignedCookieOptions, GetSignedCookieOptions } from './cookies.ts';
export type { StaticFileHandlerArgs } from './static-file-handler.ts';
export type { StreamedPart, MultipartStreamLimits } from './multipart-stream.ts';
