/**
 * The input side of {@link RequestHandler}: query and body arguments, path groups, uploaded
 * files and the JSON body, read from the request and turned into checked strings and values.
 *
 * Kept apart from request-handler.ts because none of it touches the response or the
 * handler's private state: each function takes the request (and, where decoding is
 * involved, the handler, so an overridden `decodeArgument` still applies) and returns what
 * the handler's `getArgument`, `getQueryArguments`, `getJsonBody`, … methods hand back.
 * Those methods stay on `RequestHandler` as documented one-line delegates; the functions
 * here are internal (exported from neither src/index.ts nor src/web/index.ts).
 *
 * @example
 * ```ts
 * // inside RequestHandler.getQueryArguments(name, strip):
 * return allArguments(this, argumentMap(this.request, 'queryArguments'), name, strip);
 * ```
 * Tornado: the argument half of `tornado.web.RequestHandler` (`get_argument`,
 * `decode_argument`, …).
 * @module
 */

import { Buffer } from 'node:buffer';
import { HTTPError, MissingArgumentError } from '../errors.ts';
import { asRequestError } from './error-page.ts';
import {
  decodeUtf8Strict,
  percentDecodeToBuffer,
  type ArgumentMap,
  type HTTPFile,
  type HTTPServerRequest,
} from '../httputil/index.ts';

/** What decodes argument bytes: the handler, whose `decodeArgument` a subclass may override. */
export interface ArgumentDecoder {
  decodeArgument(value: Buffer, name?: string): string;
}

/** Which of the request's argument maps to read. */
export type ArgumentSource = 'arguments' | 'queryArguments' | 'bodyArguments';

// Control characters other than tab/CR/LF/VT/FF, which Tornado turns into spaces in arguments.
const ARG_CONTROL_CHARS = /[\x00-\x08\x0e-\x1f]/g;
const FORBIDDEN_JSON_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * One of the request's argument maps. The request parses them lazily; a malformed body or
 * query surfaces here as an `HTTPInputError`, answered with a 400.
 */
export function argumentMap(request: HTTPServerRequest, kind: ArgumentSource): ArgumentMap {
  try {
    return request[kind];
  } catch (error) {
    throw asRequestError(error);
  }
}

/**
 * The last value of `name` in `map`, cleaned; when absent, `fallback` if a default was
 * given (`hasDefault`), else {@link MissingArgumentError}.
 */
export function lastArgument(
  decoder: ArgumentDecoder,
  map: ArgumentMap,
  name: string,
  hasDefault: boolean,
  fallback: string | null | undefined,
  strip: boolean,
): string | null | undefined {
  const values = map[name];
  if (values === undefined || values.length === 0) {
    if (!hasDefault) throw new MissingArgumentError(name);
    return fallback;
  }
  return cleanArgument(decoder, name, values[values.length - 1]!, strip);
}

/** Every value of `name` in `map`, cleaned (empty when absent). */
export function allArguments(
  decoder: ArgumentDecoder,
  map: ArgumentMap,
  name: string,
  strip: boolean,
): string[] {
  return (map[name] ?? []).map((v) => cleanArgument(decoder, name, v, strip));
}

/** Decode one value, turn control characters into spaces and (with `strip`) trim it. */
function cleanArgument(
  decoder: ArgumentDecoder,
  name: string,
  value: Buffer,
  strip: boolean,
): string {
  let text = decoder.decodeArgument(value, name).replace(ARG_CONTROL_CHARS, ' ');
  if (strip) text = text.trim();
  return text;
}

/** The default `decodeArgument`: strict UTF-8, a 400 naming the argument on invalid bytes. */
export function decodeUtf8Argument(value: Buffer, name?: string): string {
  try {
    return decodeUtf8Strict(value);
  } catch {
    throw new HTTPError(
      400,
      `Invalid unicode in ${name ?? 'url'}: ${JSON.stringify(value.subarray(0, 40).toString('latin1'))}`,
    );
  }
}

/**
 * A path group as the handler's method receives it: percent-decoded, then decoded by the
 * handler's `decodeArgument`. Plain ASCII without `%` (most paths) comes back as it is.
 */
export function decodePathArgument(
  decoder: ArgumentDecoder,
  value: string | undefined,
): string | undefined {
  if (value === undefined) return undefined;
  if (value.indexOf('%') < 0 && /^[\x00-\x7f]*$/.test(value)) return value;
  let bytes: Buffer;
  try {
    bytes = percentDecodeToBuffer(value);
  } catch (error) {
    throw new HTTPError(400, 'invalid percent-encoding in path', { cause: error });
  }
  return decoder.decodeArgument(bytes);
}

/** The uploaded files of a multipart body; a malformed body is a 400. */
export function requestFiles(request: HTTPServerRequest): Record<string, HTTPFile[]> {
  try {
    return request.files;
  } catch (error) {
    throw asRequestError(error);
  }
}

/**
 * The request body parsed as JSON, with the checks `getJsonBody` documents: 415 for another
 * `Content-Type`, 400 for invalid UTF-8, malformed JSON or a prototype-polluting key.
 */
export function parseJsonBody(request: HTTPServerRequest): unknown {
  const type = (request.rawHeader('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !(type.startsWith('application/') && type.endsWith('+json'))) {
    throw new HTTPError(415, `expected application/json, got ${JSON.stringify(type)}`);
  }
  let text: string;
  try {
    text = decodeUtf8Strict(request.body, 'JSON body');
  } catch (error) {
    throw new HTTPError(400, 'invalid UTF-8 in JSON body', { cause: error });
  }
  try {
    return JSON.parse(text, (key, v: unknown) => {
      if (FORBIDDEN_JSON_KEYS.has(key))
        throw new HTTPError(400, `forbidden key ${key} in JSON body`);
      return v;
    });
  } catch (error) {
    if (error instanceof HTTPError) throw error;
    throw new HTTPError(400, `malformed JSON body: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
