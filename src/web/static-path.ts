/**
 * Safe resolution of a URL path to a file under a static root, for `StaticFileHandler`.
 *
 * Two steps. {@link checkStaticUrlPath} is pure: it decodes percent-escapes once and refuses
 * every name that could leave the root or reach something that is not a plain public file —
 * traversal, absolute paths, NUL bytes, backslashes, dotfiles, Windows device names and NTFS
 * streams — before the path ever meets the file system. {@link resolveStaticPath} then joins it
 * to the root, checks containment lexically, resolves symlinks with `fs.realpath` and checks
 * containment again on the real path (unless symlinks may point out), and stats the result.
 * The root's own real path is resolved once per process; the target's, every time.
 *
 * Statuses: 400 for undecodable input, 403 for attempts to leave the root (as Tornado answers
 * "is not in root static directory") and for directories and non-regular files, 404 for names
 * that are never served (dotfiles, device names) and for files that do not exist or that a
 * symlink puts outside the root — so their existence is not revealed.
 * @module
 */
import { realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { resolve, sep, join, relative, isAbsolute } from 'node:path';

/** A refusal: the HTTP status to answer and a reason for the log (never for the client). */
export interface StaticPathError {
  ok: false;
  status: 400 | 403 | 404;
  reason: string;
}

/** A URL path that passed {@link checkStaticUrlPath}. */
export interface CheckedStaticPath {
  ok: true;
  /** The decoded path's segments, empty ones dropped (`a//b/` → `['a', 'b']`). */
  segments: string[];
  /** Whether the path ended with `/` (or was empty), for directory handling. */
  trailingSlash: boolean;
}

/** Options of {@link checkStaticUrlPath}. */
export interface CheckStaticUrlPathOptions {
  /** The path was already percent-decoded (e.g. by the router): do not decode it again. */
  decoded?: boolean;
}

// Windows reserves these names in every directory, whatever the extension (`con.txt`); a file
// by such a name cannot exist there and opening one reaches a device. Superscript digits count.
const DEVICE_RE =
  /^(?:con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$|clock\$)$/i;

/**
 * Decodes a URL path once and validates every segment, without touching the file system.
 * Refused: malformed percent-escapes or UTF-8 (400); a NUL byte, a backslash, an absolute
 * path, a `..` segment or any `:` (drive letters, NTFS streams like `file::$DATA`) (403);
 * a segment starting with `.` (dotfiles and `.`), a Windows device name with any extension
 * (`CON`, `nul.txt`, `COM1`, `LPT9.log`, …) or a segment ending with a dot or space, which
 * Windows silently strips (404). Double-encoded input (`%252e%252e`) decodes once to a literal
 * name (`%2e%2e`), which is then just a file name.
 *
 * @example
 * ```ts
 * checkStaticUrlPath('css/site.css');   // → { ok: true, segments: ['css', 'site.css'], … }
 * checkStaticUrlPath('%2e%2e/secret');  // → { ok: false, status: 403, … }
 * checkStaticUrlPath('.env');           // → { ok: false, status: 404, … }
 * ```
 */
export function checkStaticUrlPath(
  urlPath: string,
  options: CheckStaticUrlPathOptions = {},
): CheckedStaticPath | StaticPathError {
  let path = urlPath;
  if (!options.decoded) {
    try {
      path = decodeURIComponent(urlPath);
    } catch {
      return refuse(400, 'malformed percent-encoding');
    }
  }
  if (path.includes('\0')) return refuse(403, 'NUL byte in path');
  if (path.includes('\\')) return refuse(403, 'backslash in path');
  if (path.includes(':')) return refuse(403, 'colon in path (drive letter or stream)');
  if (path.startsWith('/') || isAbsolute(path)) return refuse(403, 'absolute path');
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '') continue;
    if (segment === '..') return refuse(403, 'parent directory segment');
    if (segment.startsWith('.')) return refuse(404, 'dotfile');
    if (segment.endsWith('.') || segment.endsWith(' ')) {
      return refuse(404, 'segment ending with a dot or space');
    }
    const dot = segment.indexOf('.');
    const base = (dot === -1 ? segment : segment.slice(0, dot)).trimEnd();
    if (DEVICE_RE.test(base)) return refuse(404, 'Windows device name');
    segments.push(segment);
  }
  return { ok: true, segments, trailingSlash: path === '' || path.endsWith('/') };
}

/** Options of {@link resolveStaticPath}. */
export interface ResolveStaticPathOptions extends CheckStaticUrlPathOptions {
  /**
   * File to serve for a directory (Tornado's `default_filename`, e.g. `index.html`); without
   * it a directory is refused with 403.
   */
  defaultFilename?: string | null;
  /** Serve files that symlinks inside the root point to outside it (default false: 404). */
  followSymlinks?: boolean;
  /**
   * The request's full path (`request.path`), used for the trailing-slash redirect of a
   * directory; defaults to `urlPath`.
   */
  requestPath?: string;
}

/** A file that may be served. */
export interface StaticFile {
  ok: true;
  kind: 'file';
  /** The path under the root, symlinks unresolved (for URLs, versions, MIME types). */
  path: string;
  /** The real path to open (symlinks resolved). */
  realPath: string;
  /** Its `fs.stat` (size, mtime, …), so the handler need not stat again. */
  stats: Stats;
}

/**
 * A directory asked for without its trailing slash while `defaultFilename` is set: answer a
 * permanent redirect to `location` (the request path plus `/`), as Tornado does.
 */
export interface StaticRedirect {
  ok: true;
  kind: 'redirect';
  location: string;
}

/** The outcome of {@link resolveStaticPath}. */
export type StaticPathResult = StaticFile | StaticRedirect | StaticPathError;

/**
 * Resolves a URL path (relative to the static root, as captured by the route) to a servable
 * file, or says which status to answer. After {@link checkStaticUrlPath}: the joined path must
 * stay inside `root` (403); it must exist (404); its real path, symlinks resolved, must stay
 * inside the root's real path unless `followSymlinks` (404) and must not pass through a
 * dot-directory either; a directory is served through `defaultFilename` (redirecting to add
 * the trailing slash first, and refusing with 403 a request path starting with `//` or `/\`
 * that would make that redirect point to another host), else refused with 403; anything but a
 * regular file is refused with 403.
 *
 * Tornado: `tornado.web.StaticFileHandler.get_absolute_path` and `validate_absolute_path`.
 *
 * @example
 * ```ts
 * const r = await resolveStaticPath(settings.staticPath, path, { defaultFilename: 'index.html',
 *   requestPath: request.path, decoded: true });
 * if (!r.ok) throw new HTTPError(r.status, r.reason);
 * if (r.kind === 'redirect') return handler.redirect(r.location, { permanent: true });
 * createReadStream(r.realPath); // r.stats.size, r.stats.mtimeMs for the headers
 * ```
 */
export async function resolveStaticPath(
  root: string,
  urlPath: string,
  options: ResolveStaticPathOptions = {},
): Promise<StaticPathResult> {
  const checked = checkStaticUrlPath(urlPath, options);
  if (!checked.ok) return checked;
  const absoluteRoot = resolve(root);
  const absolutePath = resolve(absoluteRoot, ...checked.segments);
  if (!isInside(absoluteRoot, absolutePath)) return refuse(403, 'not in the static root');

  const first = await inspect(absoluteRoot, absolutePath, options.followSymlinks === true);
  if (!first.ok) return first;
  if (first.stats.isDirectory()) {
    const defaultFilename = options.defaultFilename;
    if (!defaultFilename) return refuse(403, 'is a directory');
    const requestPath = options.requestPath ?? urlPath;
    const needsSlash =
      options.requestPath === undefined ? !checked.trailingSlash : !requestPath.endsWith('/');
    if (needsSlash) {
      if (requestPath.startsWith('//') || requestPath.startsWith('/\\')) {
        return refuse(403, 'cannot redirect a path with two initial slashes');
      }
      return { ok: true, kind: 'redirect', location: requestPath + '/' };
    }
    const indexPath = join(absolutePath, defaultFilename);
    if (!isInside(absoluteRoot, indexPath)) return refuse(403, 'not in the static root');
    const index = await inspect(absoluteRoot, indexPath, options.followSymlinks === true);
    if (!index.ok) return index;
    if (!index.stats.isFile()) return refuse(403, 'is not a file');
    return {
      ok: true,
      kind: 'file',
      path: indexPath,
      realPath: index.realPath,
      stats: index.stats,
    };
  }
  if (!first.stats.isFile()) return refuse(403, 'is not a file');
  return {
    ok: true,
    kind: 'file',
    path: absolutePath,
    realPath: first.realPath,
    stats: first.stats,
  };
}

// The real path of each static root, resolved once per process: a root is configuration,
// not something requests change, so resolving it again per request (a realpath call, one
// readlink per component) only costs time. Swapping the root itself for a symlink while
// serving is not supported; a symlink *inside* the root is still caught per request, because
// the target's own real path is always resolved afresh. Failures are not cached (a root
// created later is found then).
const realRoots = new Map<string, string>();
const MAX_REAL_ROOTS = 64;

type Inspected = { ok: true; realPath: string; stats: Stats } | StaticPathError;

async function inspect(root: string, path: string, followSymlinks: boolean): Promise<Inspected> {
  let realPath: string;
  try {
    realPath = await realpath(path);
  } catch (err) {
    return fsRefusal(err);
  }
  if (!followSymlinks) {
    let realRoot = realRoots.get(root);
    if (realRoot === undefined) {
      try {
        realRoot = await realpath(root);
      } catch (err) {
        return fsRefusal(err);
      }
      if (realRoots.size >= MAX_REAL_ROOTS) realRoots.clear();
      realRoots.set(root, realRoot);
    }
    if (!isInside(realRoot, realPath)) return refuse(404, 'symlink points outside the root');
    const inner = relative(realRoot, realPath);
    if (inner.split(sep).some((segment) => segment.startsWith('.'))) {
      return refuse(404, 'symlink points to a dotfile');
    }
  }
  try {
    return { ok: true, realPath, stats: await stat(realPath) };
  } catch (err) {
    return fsRefusal(err);
  }
}

function fsRefusal(err: unknown): StaticPathError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return refuse(403, `not readable (${code})`);
  // ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG and anything else: there is nothing to serve.
  return refuse(404, `not found (${code ?? 'error'})`);
}

function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}

function refuse(status: 400 | 403 | 404, reason: string): StaticPathError {
  return { ok: false, status, reason };
}
