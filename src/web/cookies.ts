/**
 * The handler side of cookies: setting and clearing them, signed cookies and the XSRF check.
 * `RequestHandler`'s `setCookie`, `getSignedCookie`, `xsrfToken`, `checkXsrfCookie`, … are thin
 * wrappers around these functions, which work on any object with the few members of
 * {@link CookieHandler}, so they can be read (and tested) apart from the handler's lifecycle.
 *
 * The codecs underneath are pure: `internal/cookie.ts` formats `Set-Cookie` (refusing anything
 * that could inject an attribute or a header line), `signed-value.ts` signs and verifies in
 * Tornado's format, `xsrf.ts` encodes and checks the masked tokens.
 *
 * @example
 * ```ts
 * class LoginHandler extends RequestHandler {
 *   post() {
 *     this.setSignedCookie('user', this.getArgument('name'), { httpOnly: true, sameSite: 'Lax' });
 *     this.redirect('/');
 *   }
 * }
 * ```
 * Tornado: the cookie and XSRF methods of `tornado.web.RequestHandler`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { HTTPError, HTTPOutputError } from '../errors.ts';
import type { HTTPHeaders, HTTPServerRequest } from '../httputil/index.ts';
import { formatSetCookie } from '../internal/cookie.ts';
import { createSignedValue, decodeSignedValue, type SignedValueSecret } from './signed-value.ts';
import {
  checkXsrfToken,
  encodeXsrfToken,
  readXsrfCookie,
  xsrfFormHtml as formatXsrfFormHtml,
  xsrfSubmission,
  type RawXsrfToken,
} from './xsrf.ts';
import type { ApplicationSettings, CookieOptions } from './settings.ts';

// Declared with the settings (`xsrfCookieKwargs` is one); the cookie functions take it from here.
export type { CookieOptions };

/** Options of `setSignedCookie`: the cookie's attributes, `expiresDays` defaulting to 30. */
export interface SignedCookieOptions extends CookieOptions {
  /** Signed-value format version (default 2). */
  version?: 1 | 2;
}

/** Options of `getSignedCookie`. */
export interface GetSignedCookieOptions {
  /** Refuse signatures older than this many days (default 31). */
  maxAgeDays?: number;
  /** Refuse the legacy version-1 format with 2. */
  minVersion?: 1 | 2;
}

/** What the functions of this module need from a handler; `RequestHandler` has all of it. */
export interface CookieHandler {
  readonly request: HTTPServerRequest;
  readonly settings: ApplicationSettings;
  readonly responseHeaders: HTTPHeaders;
  getCookie(name: string, defaultValue?: string): string | undefined;
  getArgument<D extends string | null | undefined>(
    name: string,
    defaultValue: D,
    strip?: boolean,
  ): string | D;
}

/**
 * Adds a `Set-Cookie` header for `name`, replacing one set earlier in this response for the
 * same name (the last call wins, as in Tornado). Refuses, with {@link HTTPOutputError} and
 * without touching the headers, a name that is not a cookie token, a value with a control
 * character or a space, and attributes that could smuggle another attribute.
 *
 * Tornado: `RequestHandler.set_cookie`.
 *
 * @example
 * ```ts
 * setCookie(handler, 'theme', 'dark', { maxAge: 86_400_000, sameSite: 'Lax' });
 * ```
 */
export function setCookie(
  handler: CookieHandler,
  name: string,
  value: string,
  options: CookieOptions = {},
): void {
  let header: string;
  try {
    header = formatSetCookie(name, value, options);
  } catch (error) {
    throw new HTTPOutputError((error as Error).message, { cause: error });
  }
  const headers = handler.responseHeaders;
  const earlier = headers.getList('Set-Cookie');
  if (earlier.length > 0) {
    const prefix = `${name}=`;
    headers.delete('Set-Cookie');
    for (const line of earlier) if (!line.startsWith(prefix)) headers.add('Set-Cookie', line);
  }
  headers.add('Set-Cookie', header);
}

/**
 * Tells the browser to drop cookie `name`: an empty value that expired a year ago, with
 * `Max-Age=0`. Pass the same `path`/`domain` (and `secure`/`sameSite` for `__Secure-`
 * cookies) the cookie was set with, or the browser keeps it.
 *
 * Tornado: `RequestHandler.clear_cookie`.
 *
 * @example
 * ```ts
 * clearCookie(handler, 'user', { path: '/' });
 * ```
 */
export function clearCookie(
  handler: CookieHandler,
  name: string,
  options: Omit<CookieOptions, 'expires' | 'expiresDays' | 'maxAge'> = {},
): void {
  setCookie(handler, name, '', {
    ...options,
    expires: new Date(Date.now() - 365 * 86_400_000),
    maxAge: 0,
  });
}

/**
 * Clears every cookie the request carried (see {@link clearCookie} about `path`/`domain`).
 *
 * Tornado: `RequestHandler.clear_all_cookies`.
 *
 * @example
 * ```ts
 * clearAllCookies(handler); // sign out of everything on this path
 * ```
 */
export function clearAllCookies(
  handler: CookieHandler,
  options: Omit<CookieOptions, 'expires' | 'expiresDays' | 'maxAge'> = {},
): void {
  for (const name of Object.keys(handler.request.cookies)) {
    // A name the browser sent that we could never set (e.g. `a b`) cannot be cleared either.
    try {
      clearCookie(handler, name, options);
    } catch (error) {
      if (!(error instanceof HTTPOutputError)) throw error;
    }
  }
}

function cookieSecret(handler: CookieHandler): SignedValueSecret {
  const secret = handler.settings.cookieSecret;
  if (secret === undefined || secret === null || secret === '') {
    throw new Error(
      "You must define the 'cookieSecret' setting in your application to use signed cookies",
    );
  }
  return secret as SignedValueSecret;
}

/**
 * Signs `value` for cookie `name` with the application's `cookieSecret` (with a map of key
 * versions, the `keyVersion` setting picks the signing key).
 *
 * Tornado: `RequestHandler.create_signed_value`.
 *
 * @example
 * ```ts
 * const token = createSignedCookieValue(handler, 'user', 'ada');
 * ```
 */
export function createSignedCookieValue(
  handler: CookieHandler,
  name: string,
  value: string | Buffer,
  version?: 1 | 2,
): string {
  const secret = cookieSecret(handler);
  const keyVersion = handler.settings.keyVersion;
  const isMap = typeof secret === 'object' && !Buffer.isBuffer(secret);
  if (isMap && keyVersion === undefined) {
    throw new Error('The keyVersion setting must be used when cookieSecret is a map of keys');
  }
  const options: Parameters<typeof createSignedValue>[3] = {};
  if (version !== undefined) options.version = version;
  if (isMap) options.keyVersion = keyVersion as number;
  return createSignedValue(secret, name, value, options);
}

/**
 * Sets cookie `name` to `value` signed and timestamped (see {@link createSignedCookieValue}),
 * so it can be read back only unchanged, by {@link getSignedCookie}. Expires in 30 days unless
 * the options say otherwise. The value is readable by the client: sign, do not hide, with it.
 *
 * Tornado: `RequestHandler.set_signed_cookie`.
 *
 * @example
 * ```ts
 * setSignedCookie(handler, 'user', 'ada', { httpOnly: true });
 * ```
 */
export function setSignedCookie(
  handler: CookieHandler,
  name: string,
  value: string | Buffer,
  options: SignedCookieOptions = {},
): void {
  const { version, ...cookie } = options;
  if (cookie.expires === undefined && cookie.expiresDays === undefined) cookie.expiresDays = 30;
  setCookie(handler, name, createSignedCookieValue(handler, name, value, version), cookie);
}

/**
 * The verified value of signed cookie `name` (or of `value`, when given), or `null` when it
 * is missing, tampered with, signed for another name or with an unknown key, from the future,
 * or older than `maxAgeDays` (default 31). Bad input never throws.
 *
 * Tornado: `RequestHandler.get_signed_cookie`.
 *
 * @example
 * ```ts
 * const user = getSignedCookie(handler, 'user'); // 'ada' or null
 * ```
 */
export function getSignedCookie(
  handler: CookieHandler,
  name: string,
  value?: string | null,
  options: GetSignedCookieOptions = {},
): string | null {
  const secret = cookieSecret(handler);
  const raw = value ?? handler.getCookie(name);
  return decodeSignedValue(secret, name, raw, options);
}

// --- XSRF --------------------------------------------------------------------------------------

interface XsrfState {
  raw: RawXsrfToken;
  token: string | undefined;
}
const xsrfStates = new WeakMap<object, XsrfState>();

function xsrfCookieName(handler: CookieHandler): string {
  return handler.settings.xsrfCookieName ?? '_xsrf';
}

function rawXsrf(handler: CookieHandler): XsrfState {
  let state = xsrfStates.get(handler);
  if (state === undefined) {
    state = { raw: readXsrfCookie(handler.getCookie(xsrfCookieName(handler))), token: undefined };
    xsrfStates.set(handler, state);
  }
  return state;
}

/**
 * The XSRF token to embed in this response's forms (or send in an `X-XSRFToken` header): the
 * secret from the `_xsrf` cookie, masked afresh for this response (version 2), so pages never
 * carry the same bytes twice. When the request had no usable cookie, a new secret is made and
 * the cookie set (with `settings.xsrfCookieKwargs`). The same string is returned for the rest
 * of the request.
 *
 * Tornado: `RequestHandler.xsrf_token`.
 *
 * @example
 * ```ts
 * handler.write(`<form method="post">${xsrfFormHtml(handler)}…</form>`);
 * ```
 */
export function xsrfToken(handler: CookieHandler, userIsSignedIn = false): string {
  const state = rawXsrf(handler);
  if (state.token === undefined) {
    const version = handler.settings.xsrfCookieVersion ?? 2;
    const token = encodeXsrfToken(state.raw, { version });
    state.token = token;
    if (state.raw.version === null) {
      const options: CookieOptions = { ...handler.settings.xsrfCookieKwargs };
      if (userIsSignedIn && options.expiresDays === undefined && options.expires === undefined)
        options.expiresDays = 30;
      setCookie(handler, xsrfCookieName(handler), token, options);
    }
  }
  return state.token;
}

/**
 * Checks the request's XSRF submission — the `_xsrf` argument, else the `X-XSRFToken`, else
 * the `X-CSRFToken` header — against the `_xsrf` cookie, in constant time; throws
 * `HTTPError(403)` (with the reason in the log) when it is missing, malformed or different.
 *
 * Tornado: `RequestHandler.check_xsrf_cookie`.
 *
 * @example
 * ```ts
 * checkXsrfCookie(handler); // throws HTTPError(403) on a forged POST
 * ```
 */
export function checkXsrfCookie(handler: CookieHandler): void {
  const headers = handler.request.headers;
  const submitted = xsrfSubmission(
    handler.getArgument('_xsrf', null),
    headers.get('X-Xsrftoken'),
    headers.get('X-Csrftoken'),
  );
  const failure = checkXsrfToken(submitted, rawXsrf(handler).raw.token);
  if (failure !== null) throw new HTTPError(403, failure);
}

/**
 * `<input type="hidden" name="_xsrf" value="…"/>` with this response's token (see
 * {@link xsrfToken}), to put in every form that posts back.
 *
 * Tornado: `RequestHandler.xsrf_form_html`.
 *
 * @example
 * ```ts
 * `<form method="post" action="/a/message/new">${xsrfFormHtml(handler)}</form>`;
 * ```
 */
export function xsrfFormHtml(handler: CookieHandler, userIsSignedIn = false): string {
  return formatXsrfFormHtml(xsrfToken(handler, userIsSignedIn));
}

/** Methods the XSRF check never applies to (they must not change anything). */
const XSRF_SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether this request must pass the XSRF check: the `xsrfCookies` setting is on and the
 * method is not GET, HEAD or OPTIONS.
 *
 * Tornado: the condition in `RequestHandler._execute`.
 *
 * @example
 * ```ts
 * if (needsXsrfCheck(handler)) checkXsrfCookie(handler);
 * ```
 */
export function needsXsrfCheck(handler: CookieHandler): boolean {
  return handler.settings.xsrfCookies === true && !XSRF_SAFE_METHODS.has(handler.request.method);
}
