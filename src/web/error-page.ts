/**
 * What a {@link RequestHandler} says when a request fails: the default error page, the
 * traceback served with the `serveTraceback` setting, and the log line of the exception.
 *
 * Why separate: this is the part of a handler people override or look up on its own
 * ("what does the 404 page look like?", "where is the uncaught exception logged?"), and it
 * has no share in the handler's state — the handler decides *when* to answer with an error
 * (`sendError`, finishing, the status) and calls in here for *what* to write and log.
 * `writeError` and `logException` stay on `RequestHandler` as the documented, overridable
 * methods. Internal: exported from neither src/index.ts nor src/web/index.ts.
 *
 * @example
 * ```ts
 * // inside RequestHandler.writeError(status):
 * this.#finish(errorPageHtml(status, this.#reason));
 * ```
 * Tornado: `RequestHandler.write_error` and `RequestHandler.log_exception`.
 * @module
 */

import { appLog, genLog } from '../log.ts';
import { HTTPError, HTTPInputError } from '../errors.ts';
import type { HTTPServerRequest } from '../httputil/index.ts';
import { escapeHtml } from './html.ts';

/** The default error page: `<html><title>404: Not Found</title><body>404: Not Found</body></html>`. */
export function errorPageHtml(status: number, reason: string): string {
  const text = escapeHtml(reason);
  return `<html><title>${status}: ${text}</title><body>${status}: ${text}</body></html>`;
}

/** The text/plain body served instead of the page when `serveTraceback` is on. */
export function tracebackText(error: Error): string {
  return error.stack ?? String(error);
}

/**
 * The error a failed request is answered with: bad input found while reading the request
 * ({@link HTTPInputError}) becomes a 400; anything else is itself.
 */
export function asRequestError(error: unknown): unknown {
  if (error instanceof HTTPInputError) return new HTTPError(400, error.message, { cause: error });
  return error;
}

/**
 * Log an exception that ended a request (`summary` is `GET /path (ip)`): an
 * {@link HTTPError} with a log message as a warning on `genLog`, any other error with its
 * stack and the request on `appLog`.
 */
export function logRequestException(
  summary: string,
  request: HTTPServerRequest,
  error: unknown,
): void {
  if (error instanceof HTTPError) {
    if (error.logMessage !== undefined) {
      genLog.warning(`${error.statusCode} ${summary}: ${error.logMessage}`);
    }
    return;
  }
  appLog.error(`Uncaught exception ${summary}\n${request.toString()}`, error);
}
