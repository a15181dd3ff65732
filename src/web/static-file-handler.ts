/**
 * `StaticFileHandler`: serves files from a directory the way browsers and CDNs expect, and
 * nothing outside it.
 *
 * - Caching: a strong `Etag` (the MD5 of the content, as Tornado's), `Last-Modified`, and 304
 *   for a matching `If-None-Match` (which alone decides when present) or a valid
 *   `If-Modified-Since` at or after the file's time (an invalid date is ignored). A URL with a
 *   `v` argument — what {@link StaticFileHandler.makeStaticUrl} / `handler.staticUrl(path)`
 *   produce — is cacheable for a year (`Cache-Control: max-age=31536000`, `Expires`).
 * - `Range`: one range → 206 with `Content-Range`; a range covering the whole file → 200; an
 *   unsatisfiable one (`bytes=5-2`, `bytes=-0`, a start past the end) → 416 with
 *   `Content-Range: bytes *\/size`. Several ranges (`bytes=0-1,5-6`) and garbage are ignored
 *   (the whole file, 200), as Tornado does and RFC 9110 allows: no multipart/byteranges.
 * - HEAD answers the same headers without reading the file.
 * - Large files are streamed in 256 KiB pieces (read into buffers reused across responses),
 *   each written only when the previous one was handed to the OS, so a slow client never
 *   makes the server buffer the file.
 * - Safety (via `static-path.ts`): traversal (`..`, percent- and double-encoded),
 *   absolute paths, NUL bytes, backslashes, `:` (drive letters, `file::$DATA`) → 403; dotfiles,
 *   Windows device names (`CON`, `nul.txt`), symlinks leading out of the root → 404; a
 *   directory → 403 unless `defaultFilename` is set, then a redirect adding the trailing slash
 *   that is refused (403) for a path starting with `//` (no open redirect).
 *
 * @example
 * ```ts
 * new Application([[String.raw`/files/(.*)`, StaticFileHandler, { path: '/srv/files' }]]);
 * // or simply, with /static/, /favicon.ico and /robots.txt routed for you:
 * new Application(rules, { staticPath: '/srv/static' });
 * ```
 * Tornado: `tornado.web.StaticFileHandler`.
 * @module
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import {
  close,
  closeSync,
  createReadStream,
  open,
  openSync,
  read,
  readSync,
  statSync,
  type Stats,
} from 'node:fs';
import { resolve } from 'node:path';
import { lookup as lookupMime } from 'mime-types';
import { HTTPError } from '../errors.ts';
import type { Future } from '../concurrent.ts';
import { appLog } from '../log.ts';
import { formatTimestamp } from '../httputil/index.ts';
import { checkStaticUrlPath, resolveStaticPath } from './static-path.ts';
import { isNotModified, resolveRange } from './http-range.ts';
import { RequestHandler } from './request-handler.ts';
import { GZipContentEncoding } from './transforms.ts';
import type { ApplicationSettings, Rule } from './settings.ts';

/** `initArgs` of {@link StaticFileHandler}. */
export interface StaticFileHandlerArgs {
  /** The root directory served. */
  path: string;
  /** File served for a directory (e.g. `index.html`); without it directories get 403. */
  defaultFilename?: string | null;
  /** Serve files that symlinks inside the root point to outside it. Default false (404). */
  followSymlinks?: boolean;
}

interface CachedHash {
  size: number;
  mtimeMs: number;
  ino: number;
  hash: string;
}

const CHUNK_SIZE = 256 * 1024;
const ignore = (): void => undefined;
// Files up to this size are read in one call and sent with the headers.
const SMALL_FILE = 64 * 1024;

// Read buffers of larger files, reused across responses. A fresh 256 KiB buffer per read cost
// about as much as the read itself: glibc hands such blocks back to the OS when freed, so
// every new one page-faults, and their external memory drives V8 into frequent collections.
// At most POOL_MAX are kept (8 MiB); a buffer whose write failed is simply left to the GC.
const pool: Buffer[] = [];
const POOL_MAX = 32;

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buffer);
}

// The callback API: cheaper than FileHandle for a few calls per response.
function openForReading(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (error, fd) => (error === null ? resolve(fd) : reject(error)));
  });
}

function readInto(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, length, position, (error, n) =>
      error === null ? resolve(n) : reject(error),
    );
  });
}

async function readFully(fd: number, buffer: Buffer, length: number, start: number) {
  let filled = 0;
  while (filled < length) {
    const n = await readInto(fd, buffer.subarray(filled), length - filled, start + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

// Content hashes per real path, checked against size, mtime and inode so an edited file gets
// a new one (Tornado's cache never notices edits outside debug mode).
const hashes = new Map<string, CachedHash>();
const pendingHashes = new Map<string, Promise<string>>();

function sameFile(cached: CachedHash, stats: Stats): boolean {
  return cached.size === stats.size && cached.mtimeMs === stats.mtimeMs && cached.ino === stats.ino;
}

async function hashFile(realPath: string, stats: Stats): Promise<string> {
  const cached = hashes.get(realPath);
  if (cached !== undefined && sameFile(cached, stats)) return cached.hash;
  const key = `${realPath}\0${stats.size}\0${stats.mtimeMs}`;
  let pending = pendingHashes.get(key);
  if (pending === undefined) {
    pending = (async () => {
      const hash = createHash('md5');
      for await (const chunk of createReadStream(realPath, { highWaterMark: 256 * 1024 }))
        hash.update(chunk as Buffer);
      const hex = hash.digest('hex');
      hashes.set(realPath, { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino, hash: hex });
      return hex;
    })().finally(() => pendingHashes.delete(key));
    pendingHashes.set(key, pending);
  }
  return pending;
}

function hashFileSync(absolutePath: string): string | null {
  let fd: number;
  try {
    fd = openSync(absolutePath, 'r');
  } catch {
    return null;
  }
  try {
    const stats = statSync(absolutePath);
    const cached = hashes.get(absolutePath);
    if (cached !== undefined && sameFile(cached, stats)) return cached.hash;
    const hash = createHash('md5');
    const buffer = Buffer.allocUnsafe(256 * 1024);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
    const hex = hash.digest('hex');
    hashes.set(absolutePath, {
      size: stats.size,
      mtimeMs: stats.mtimeMs,
      ino: stats.ino,
      hash: hex,
    });
    return hex;
  } finally {
    closeSync(fd);
  }
}

/**
 * Serves the files under a root directory; route it with one group capturing the path:
 * `[String.raw\`/static/(.*)\`, StaticFileHandler, { path: root }]`. See the module
 * documentation for caching, ranges and the paths it refuses.
 *
 * Tornado: `tornado.web.StaticFileHandler`.
 */
export class StaticFileHandler extends RequestHandler {
  /** `max-age` in seconds for versioned URLs (one year). */
  static CACHE_MAX_AGE = 31_536_000;

  /** The root directory (absolute). */
  root = '';
  /** The file served for a directory, if any. */
  defaultFilename: string | null = null;
  /** Whether symlinks may lead out of the root. */
  followSymlinks = false;
  /** The real path of the file being served, once resolved. */
  absolutePath: string | null = null;

  #closed: (() => void) | null = null;
  #closedPromise: Promise<void> | null = null;

  override initialize(args: StaticFileHandlerArgs): void {
    if (typeof args?.path !== 'string' || args.path === '')
      throw new TypeError('StaticFileHandler needs initArgs { path }');
    this.root = resolve(args.path);
    this.defaultFilename = args.defaultFilename ?? null;
    this.followSymlinks = args.followSymlinks === true;
  }

  override get(path?: string): Promise<void> {
    return this.#serve(path ?? '', true);
  }

  override head(path?: string): Promise<void> {
    return this.#serve(path ?? '', false);
  }

  override onConnectionClose(): void {
    this.#closed?.();
  }

  /**
   * Seconds the response may be cached: {@link StaticFileHandler.CACHE_MAX_AGE} when the URL
   * carries a `v` argument (a versioned URL), else 0 (no `Cache-Control`). Override for other
   * policies. Tornado: `StaticFileHandler.get_cache_time`.
   */
  getCacheTime(_path: string, _modifiedMs: number, _mimeType: string): number {
    return 'v' in this.request.queryArguments
      ? (this.constructor as typeof StaticFileHandler).CACHE_MAX_AGE
      : 0;
  }

  /**
   * The `Content-Type` for a file: from its extension (`mime-types`), else
   * `application/octet-stream`. Tornado: `StaticFileHandler.get_content_type`.
   */
  getContentType(path: string): string {
    return lookupMime(path) || 'application/octet-stream';
  }

  async #serve(urlPath: string, includeBody: boolean): Promise<void> {
    const resolved = await resolveStaticPath(this.root, urlPath, {
      decoded: true,
      defaultFilename: this.defaultFilename,
      followSymlinks: this.followSymlinks,
      requestPath: this.request.path,
    });
    if (!resolved.ok) {
      // 404s are ordinary; refusals of a path that tried to leave the root are worth a line.
      throw resolved.status === 404
        ? new HTTPError(404)
        : new HTTPError(resolved.status, `${JSON.stringify(urlPath)}: ${resolved.reason}`);
    }
    if (resolved.kind === 'redirect') {
      this.redirect(resolved.location, { permanent: true });
      return;
    }
    const { realPath, stats } = resolved;
    this.absolutePath = realPath;
    const size = stats.size;
    const etag = `"${await hashFile(realPath, stats)}"`;
    const contentType = this.getContentType(resolved.path);

    this.setHeader('Accept-Ranges', 'bytes');
    this.setHeader('Etag', etag);
    this.setHeader('Last-Modified', formatTimestamp(Math.floor(stats.mtimeMs / 1000) * 1000));
    this.setHeader('Content-Type', contentType);
    const cacheTime = this.getCacheTime(resolved.path, stats.mtimeMs, contentType);
    if (cacheTime > 0) {
      this.setHeader('Expires', formatTimestamp(Date.now() + cacheTime * 1000));
      this.setHeader('Cache-Control', `max-age=${cacheTime}`);
    }

    const headers = this.request.headers;
    if (
      isNotModified({
        ifNoneMatch: headers.get('If-None-Match'),
        ifModifiedSince: headers.get('If-Modified-Since'),
        etag,
        modifiedMs: stats.mtimeMs,
      })
    ) {
      this.setStatus(304);
      return;
    }

    const range = resolveRange(headers.get('Range'), size);
    if (range.status === 416) {
      this.setStatus(416);
      this.setHeader('Content-Type', 'text/plain');
      this.setHeader('Content-Range', range.contentRange);
      return;
    }
    if (range.status === 206) {
      this.setStatus(206);
      this.setHeader('Content-Range', range.contentRange);
    }
    this.setHeader('Content-Length', range.contentLength);
    if (!includeBody || range.contentLength === 0) return;
    await this.#send(realPath, range.start, range.end);
  }

  async #send(realPath: string, start: number, end: number): Promise<void> {
    const length = end - start;
    const fd = await openForReading(realPath);
    try {
      if (length <= SMALL_FILE) {
        // One read, and the bytes go out with the headers through finish() (node's res.end).
        const buffer = Buffer.allocUnsafe(length);
        const filled = await readFully(fd, buffer, length, start);
        // A file that shrank since its stat cannot honour Content-Length: drop the connection.
        if (filled < length) throw new Error(`${realPath} shrank while being served`);
        this.write(buffer);
        return;
      }
      await this.#stream(fd, realPath, start, length);
    } finally {
      close(fd, ignore);
    }
  }

  async #stream(fd: number, realPath: string, start: number, length: number): Promise<void> {
    const closed = (this.#closedPromise ??= new Promise<void>((resolve) => {
      this.#closed = resolve;
    }));
    let gone = false;
    const leave = closed.then(() => {
      gone = true;
    });
    // Buffers go back to the pool only once their write completed; a transform that could
    // keep a reference to a chunk (anything but our gzip, which copies) gets fresh ones.
    const reuse = this.application.transforms.every((f) => f === GZipContentEncoding.factory);
    // One piece is handed to the OS while the next is read, so the disk and the socket
    // overlap, yet a client that stops reading stops us after one piece.
    let inFlight: Future<void> | null = null;
    let inFlightBuffer: Buffer | null = null;
    let position = start;
    let remaining = length;
    try {
      while (remaining > 0) {
        const buffer = reuse ? takeBuffer() : Buffer.allocUnsafeSlow(CHUNK_SIZE);
        const n = await readInto(fd, buffer, Math.min(CHUNK_SIZE, remaining), position);
        if (n === 0) throw new Error(`${realPath} shrank while being served`);
        if (inFlight !== null) {
          await Promise.race([inFlight, leave]);
          if (gone) return;
          if (reuse) giveBack(inFlightBuffer!);
        }
        if (this.request.connection?.closed) return;
        this.write(n === buffer.length ? buffer : buffer.subarray(0, n));
        inFlight = this.flush();
        // If the client leaves, the piece in flight fails (EPIPE) after we stopped waiting.
        inFlight.then(undefined, ignore);
        inFlightBuffer = buffer;
        position += n;
        remaining -= n;
      }
      await Promise.race([inFlight, leave]);
      if (gone) return;
      if (reuse) giveBack(inFlightBuffer!);
    } catch (error) {
      if (this.request.connection?.closed) return;
      throw error;
    }
  }

  /**
   * The URL for static file `path` under `settings.staticUrlPrefix` (default `/static/`), with
   * `?v=<MD5 of its content>` unless `includeVersion` is false. Hashes are cached per process
   * and recomputed when the file's size or time changes. A missing file gets no version (and a
   * logged error), as in Tornado; a path that could leave the root throws.
   * Tornado: `StaticFileHandler.make_static_url`.
   */
  static makeStaticUrl(settings: ApplicationSettings, path: string, includeVersion = true): string {
    const prefix = settings.staticUrlPrefix ?? '/static/';
    const url = prefix + path;
    if (!includeVersion) return url;
    const version = this.getVersion(settings, path);
    return version === null ? url : `${url}?v=${version}`;
  }

  /**
   * The version string (content MD5) of static file `path`, or `null` when it cannot be read.
   * Tornado: `StaticFileHandler.get_version`.
   */
  static getVersion(settings: ApplicationSettings, path: string): string | null {
    const root = settings.staticPath;
    if (typeof root !== 'string') throw new Error("staticUrl() needs the 'staticPath' setting");
    const checked = checkStaticUrlPath(path.split('?')[0]!, { decoded: true });
    if (!checked.ok) throw new TypeError(`invalid static path ${JSON.stringify(path)}`);
    const absolute = resolve(root, ...checked.segments);
    const hash = hashFileSync(absolute);
    if (hash === null) appLog.error(`Could not open static file ${JSON.stringify(path)}`);
    return hash;
  }

  /** Forget every cached content hash. Tornado: `StaticFileHandler.reset`. */
  static reset(): void {
    hashes.clear();
  }
}

/**
 * The routes the `staticPath` setting adds in front of an application's own: the static
 * prefix (default `/static/`), `/favicon.ico` and `/robots.txt`, served by
 * `settings.staticHandlerClass` (default {@link StaticFileHandler}) with
 * `settings.staticHandlerArgs` and `path: staticPath`. Also sets `staticHandlerClass`, which
 * `handler.staticUrl()` uses. Returns no rule without `staticPath`.
 *
 * Tornado: the `static_path` branch of `Application.__init__`.
 *
 * @example
 * ```ts
 * staticRules({ staticPath: '/srv/static' }); // → 3 rules
 * ```
 */
export function staticRules(settings: ApplicationSettings): Rule[] {
  settings.staticHandlerClass ??= StaticFileHandler;
  const root = settings.staticPath;
  if (typeof root !== 'string' || root === '') return [];
  const prefix = settings.staticUrlPrefix ?? '/static/';
  const handlerClass = settings.staticHandlerClass;
  const args = { ...settings.staticHandlerArgs, path: root };
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return [
    [`${escaped}(.*)`, handlerClass, args],
    [String.raw`/(favicon\.ico)`, handlerClass, args],
    [String.raw`/(robots\.txt)`, handlerClass, args],
  ];
}
