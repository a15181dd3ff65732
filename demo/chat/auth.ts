/**
 * The chat's sign-in: pick a name, get a signed `user` cookie, and the chat knows who you are.
 * No passwords — the demo shows the mechanics (a signed cookie, `getCurrentUser`,
 * `authenticated` sending anonymous visitors to the login page with `next`), not an identity
 * provider.
 *
 * - `GET /auth/login?next=/` shows the form (templates/login.html); `POST /auth/login` (field
 *   `name`, and the form's `_xsrf`) sets the cookie and sends the browser back to `next` —
 *   only a path on this site, never `//host` or a URL, so the login page cannot be used as an
 *   open redirect.
 * - `POST /auth/logout` clears the cookie.
 *
 * Tornado demo: the chat's `AuthLoginHandler` / `AuthLogoutHandler` (there via Google OAuth).
 */
import { randomBytes } from 'node:crypto';
import { HTTPError } from '../../src/errors.ts';
import type { ApplicationSettings } from '../../src/web/application.ts';
import { ChatHandler } from './handlers.ts';

/** The cookie holding the signed-in name. */
export const USER_COOKIE = 'user';
/** Where `authenticated` sends anonymous visitors. */
export const LOGIN_URL = '/auth/login';
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,31}$/u;

/**
 * The settings sign-in needs: a `cookieSecret` (random per process unless given — cookies then
 * last until a restart; processes and machines serving one chat must share one), the
 * `loginUrl`, and XSRF protection on every POST. `requireSignIn: false` lets everyone in as
 * `guest`.
 */
export function chatAuthSettings(settings: Record<string, unknown> = {}): ApplicationSettings {
  return {
    cookieSecret: randomBytes(32).toString('base64'),
    loginUrl: LOGIN_URL,
    xsrfCookies: true,
    ...settings,
  };
}

/** `next` if it is a path on this site, else `/`. */
export function safeNext(next: string | null | undefined): string {
  if (typeof next !== 'string' || !next.startsWith('/')) return '/';
  if (next.startsWith('//') || next.startsWith('/\\') || /[\x00-\x1f\x7f\\]/.test(next)) return '/';
  return next;
}

/** `GET /auth/login`: the form; `POST /auth/login`: sign in and go back to `next`. */
export class LoginHandler extends ChatHandler {
  override async get(): Promise<void> {
    this.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'",
    );
    this.setHeader('Cache-Control', 'no-store');
    const next = safeNext(this.getArgument('next', '/'));
    await this.render('login.html', { next, loginUrl: LOGIN_URL });
  }

  override post(): void {
    const name = this.getArgument('name');
    if (!NAME_RE.test(name)) {
      throw new HTTPError(400, 'a name is 1 to 32 letters, digits, spaces, _ . or -');
    }
    this.setSignedCookie(USER_COOKIE, name, { httpOnly: true, sameSite: 'Lax', expiresDays: 7 });
    this.redirect(safeNext(this.getArgument('next', '/')));
  }
}

/** `POST /auth/logout`: forget the name and show the login page. */
export class LogoutHandler extends ChatHandler {
  override post(): void {
    this.clearCookie(USER_COOKIE, { httpOnly: true, sameSite: 'Lax' });
    this.redirect(LOGIN_URL);
  }
}
