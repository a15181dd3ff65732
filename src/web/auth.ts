/**
 * Authentication: who the current user is, and {@link authenticated}, which guards a handler
 * method so that anonymous visitors are sent to the login page (GET/HEAD) or refused (403).
 *
 * A handler says who is signed in by overriding `getCurrentUser()` — typically reading a
 * signed cookie — and may make it `async` (a database lookup). `this.currentUser` then gives
 * the answer; because a getter cannot wait, an async `getCurrentUser()` is resolved by
 * `await this.resolveCurrentUser()`, by {@link authenticated}, or by assigning
 * `this.currentUser` in `prepare()` (Tornado's recommended pattern for async lookups).
 *
 * @example
 * ```ts
 * class BaseHandler extends RequestHandler {
 *   override async getCurrentUser() {
 *     const id = this.getSignedCookie('user');
 *     return id === null ? null : await db.users.find(id);
 *   }
 * }
 * class ProfileHandler extends BaseHandler {
 *   override get() {
 *     this.write({ name: (this.currentUser as User).name });
 *   }
 *   static {
 *     this.prototype.get = authenticated(this.prototype.get);
 *   }
 * }
 * ```
 * Tornado: `tornado.web.authenticated`, `RequestHandler.current_user`.
 * @module
 */
import { HTTPError } from '../errors.ts';
import { isGeneratorObject } from '../internal/guards.ts';
import { isThenable } from '../concurrent.ts';
import { coroutine } from '../gen.ts';
import type { HTTPServerRequest } from '../httputil/index.ts';
import type { ApplicationSettings } from './settings.ts';

/** What this module needs from a handler; `RequestHandler` has all of it. */
export interface AuthHandler {
  readonly request: HTTPServerRequest;
  readonly settings: ApplicationSettings;
  getCurrentUser(): unknown;
  getLoginUrl(): string;
  redirect(url: string): void;
}

// The resolved user per handler; a handler object lives for one request.
const users = new WeakMap<object, { user: unknown }>();

/**
 * The current user if it is already known, else `getCurrentUser()`'s answer (remembered for
 * the rest of the request). Throws a `TypeError` when `getCurrentUser()` is async and was not
 * resolved yet: use {@link resolveCurrentUser} (or {@link authenticated}) first.
 *
 * Tornado: the `RequestHandler.current_user` getter.
 *
 * @example
 * ```ts
 * const user = currentUserOf(handler);
 * ```
 */
export function currentUserOf(handler: AuthHandler): unknown {
  const known = users.get(handler);
  if (known !== undefined) return known.user;
  const user = handler.getCurrentUser();
  if (isThenable(user)) {
    // Don't leave the lookup's rejection unhandled; the caller is told what to do instead.
    (user as PromiseLike<unknown>).then(undefined, () => undefined);
    throw new TypeError(
      'getCurrentUser() is async: await this.resolveCurrentUser() (or guard the method with ' +
        'authenticated(), or set this.currentUser in prepare()) before reading currentUser',
    );
  }
  users.set(handler, { user });
  return user;
}

/**
 * The current user, awaiting an async `getCurrentUser()` once per request; later calls and
 * the `currentUser` getter return the same value.
 *
 * Tornado: `RequestHandler.current_user` (with an awaited lookup in `prepare`).
 *
 * @example
 * ```ts
 * const user = await resolveCurrentUser(handler);
 * ```
 */
export async function resolveCurrentUser(handler: AuthHandler): Promise<unknown> {
  const known = users.get(handler);
  if (known !== undefined) return known.user;
  const user: unknown = await handler.getCurrentUser();
  // A value assigned while we waited wins over the lookup.
  const assigned = users.get(handler);
  if (assigned !== undefined) return assigned.user;
  users.set(handler, { user });
  return user;
}

/**
 * Sets the current user for the rest of the request (the `currentUser` setter).
 *
 * Tornado: the `RequestHandler.current_user` setter.
 *
 * @example
 * ```ts
 * setCurrentUser(handler, await db.users.find(id));
 * ```
 */
export function setCurrentUser(handler: object, user: unknown): void {
  users.set(handler, { user });
}

/** True when the user was resolved and is truthy (no lookup is started). */
export function knownSignedIn(handler: object): boolean {
  return Boolean(users.get(handler)?.user);
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Where {@link authenticated} sends an anonymous GET/HEAD: the login URL with `next` set to
 * the page asked for — the request's path and query, or its full URL when the login URL is
 * absolute (on another host). A login URL that already has a query is used as it is.
 *
 * Tornado: the redirect built by `tornado.web.authenticated`.
 *
 * @example
 * ```ts
 * loginRedirectUrl(handler); // '/login?next=%2Fprofile%3Ftab%3D2'
 * ```
 */
export function loginRedirectUrl(handler: AuthHandler): string {
  let url = handler.getLoginUrl();
  if (!url.includes('?')) {
    const request = handler.request;
    const next = SCHEME_RE.test(url) ? request.fullUrl() : request.uri;
    url += '?' + new URLSearchParams({ next }).toString();
  }
  return url;
}

/**
 * The `loginUrl` setting; throws when it is missing (a programming error, answered with 500).
 *
 * Tornado: `RequestHandler.get_login_url`.
 *
 * @example
 * ```ts
 * loginUrlSetting(handler); // '/auth/login'
 * ```
 */
export function loginUrlSetting(handler: { readonly settings: ApplicationSettings }): string {
  const url = handler.settings.loginUrl;
  if (typeof url !== 'string' || url === '') {
    throw new Error("You must define the 'loginUrl' setting to use authenticated()");
  }
  return url;
}

/**
 * Guards a handler method: when no user is signed in (the current user, resolved with
 * `await`, is falsy), a GET or HEAD is redirected to the `loginUrl` setting with `next` set to
 * the page asked for, and any other method gets 403; otherwise the method runs. The wrapped
 * method may be plain, `async` or a generator coroutine.
 *
 * Decorators are not erasable syntax (Node's type stripping refuses them), so the documented
 * form wraps the method in a static block; the same function also works as a TypeScript 5
 * standard decorator (`@authenticated`) for code compiled by `tsc`.
 *
 * Tornado: `tornado.web.authenticated`.
 *
 * @typeParam F - the type of the guarded method, kept as it is.
 * @example
 * ```ts
 * class Compose extends BaseHandler {
 *   override async post() { await save(this.currentUser, this.getArgument('text')); }
 *   static {
 *     this.prototype.post = authenticated(this.prototype.post);
 *   }
 * }
 * ```
 */
export function authenticated<F extends (...args: never[]) => unknown>(
  method: F,
  _context?: ClassMethodDecoratorContext,
): F {
  if (typeof method !== 'function') throw new TypeError('authenticated() wraps a method');
  // Typed as the method it wraps so it can replace it in place (the handler's lifecycle awaits
  // whatever a method returns, so returning a Promise instead changes nothing for it).
  const guarded = async function (this: AuthHandler, ...args: unknown[]): Promise<void> {
    const user = await resolveCurrentUser(this);
    if (!user) {
      const verb = this.request.method;
      if (verb === 'GET' || verb === 'HEAD') {
        this.redirect(loginRedirectUrl(this));
        return;
      }
      throw new HTTPError(403);
    }
    let result: unknown = (method as unknown as (...a: unknown[]) => unknown).apply(this, args);
    if (isGeneratorObject(result)) {
      const generator = result;
      result = coroutine(() => generator)();
    }
    if (isThenable(result)) await result;
  };
  return guarded as unknown as F;
}
