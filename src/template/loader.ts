/**
 * Template loaders: where `{% include %}` and `{% extends %}` find templates, and the cache
 * that makes each template compile once.
 *
 * A template name is a relative path with `/` separators, resolved against the folder of the
 * template that names it. A name that leaves the root (`../x`, `/etc/passwd`, a symbolic link
 * pointing outside the root folder) is refused with {@link TemplateNotFoundError}: a
 * deliberate difference from Tornado's loader, as static files refuse such paths.
 * @module
 */

import { Buffer } from 'node:buffer';
import { readFileSync, realpathSync } from 'node:fs';
import { posix, resolve as resolvePath, sep } from 'node:path';
import { ParseError, TemplateNotFoundError } from '../errors.ts';
import type { WhitespaceMode } from './parser.ts';
import { Template, type TemplateLoader, type TemplateNamespace } from './template.ts';

/** Options of every loader. */
export interface LoaderOptions {
  /**
   * Name of the escaping function for `{{ }}` in templates this loader makes (default
   * `'xhtmlEscape'`); `null` turns autoescaping off. A template's `{% autoescape %}` wins.
   */
  autoescape?: string | null;
  /** Names added to every template's namespace (the names given to `generate` win). */
  namespace?: TemplateNamespace;
  /** Whitespace mode of every template; by default chosen by file name (see {@link Template}). */
  whitespace?: WhitespaceMode;
  /**
   * Keep compiled templates (default `true`). With `false` every `load` reads and compiles
   * the template again, with what it includes and extends, so an edited file shows on the
   * next render: the web layer's `compiledTemplateCache: false` (the default under `debug`).
   */
  cache?: boolean;
}

/**
 * The base of template loaders: resolves names, caches compiled templates, and refuses names
 * that leave the template root. A subclass says where sources come from ({@link Loader}: a
 * folder, {@link DictLoader}: an object).
 *
 * @example
 * ```ts
 * class DatabaseLoader extends BaseLoader {
 *   protected override createTemplate(name: string): Template {
 *     return new Template(db.templateSource(name), { name, loader: this });
 *   }
 * }
 * ```
 * Tornado: `tornado.template.BaseLoader`.
 */
export abstract class BaseLoader implements TemplateLoader {
  readonly autoescape: string | null;
  readonly namespace: TemplateNamespace;
  readonly whitespace: WhitespaceMode | undefined;
  /** Whether compiled templates are kept (see {@link LoaderOptions.cache}). */
  readonly cache: boolean;
  readonly #templates = new Map<string, Template>();
  /** Names being compiled right now: meeting one again means a template includes itself. */
  readonly #loading = new Set<string>();

  constructor(options: LoaderOptions = {}) {
    this.autoescape = options.autoescape === undefined ? 'xhtmlEscape' : options.autoescape;
    this.namespace = options.namespace ?? {};
    this.whitespace = options.whitespace;
    this.cache = options.cache ?? true;
  }

  /**
   * Forget every compiled template; the next `load` of each compiles it again.
   * Tornado: `BaseLoader.reset`.
   */
  reset(): void {
    this.#templates.clear();
  }

  /**
   * Turn a template name into the loader's key: relative to the folder of `parentPath` when
   * given, normalized, and refused when it leaves the root.
   * Tornado: `BaseLoader.resolve_path`.
   */
  resolvePath(name: string, parentPath?: string): string {
    if (name.includes('\0') || name.includes('\\')) throw refused(name);
    let joined = name;
    if (
      parentPath !== undefined &&
      !parentPath.startsWith('<') &&
      !parentPath.startsWith('/') &&
      !name.startsWith('/')
    ) {
      joined = posix.join(posix.dirname(parentPath), name);
    }
    const normalized = posix.normalize(joined);
    if (posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) {
      throw refused(name);
    }
    return normalized;
  }

  /**
   * The compiled template `name` (relative to `parentPath`'s folder when given): the same
   * `Template` every time until {@link reset}, unless the loader was made with `cache: false`.
   * Throws {@link TemplateNotFoundError} for a missing template or a name that leaves the
   * root, {@link ParseError} for a malformed one.
   *
   * @example
   * ```ts
   * const page = loader.load('page.html');
   * page.generate({ title: 'Hi' });
   * ```
   * Tornado: `BaseLoader.load`.
   */
  load(name: string, parentPath?: string): Template {
    const key = this.resolvePath(name, parentPath);
    const cached = this.#templates.get(key);
    if (cached !== undefined) return cached;
    if (this.#loading.has(key)) {
      // No file name: the template that named it adds its own name and line.
      throw new ParseError(`"${key}" includes or extends itself`);
    }
    this.#loading.add(key);
    let template: Template;
    try {
      template = this.createTemplate(key);
    } finally {
      this.#loading.delete(key);
    }
    if (this.cache) this.#templates.set(key, template);
    return template;
  }

  /** Read and compile the template with the resolved name `name`. */
  protected abstract createTemplate(name: string): Template;
}

function refused(name: string): TemplateNotFoundError {
  return new TemplateNotFoundError(`template name leaves the template root: ${name}`, {
    templateName: name,
  });
}

/**
 * Loads templates from files under one root folder (read as UTF-8). A name that leaves the
 * folder, also through a symbolic link, is refused.
 *
 * @example
 * ```ts
 * import { Loader } from 'typhoon/template';
 * const loader = new Loader('templates');
 * loader.load('index.html').generate({ user: 'ann' });
 * // During development: re-read and recompile on every load.
 * const fresh = new Loader('templates', { cache: false });
 * ```
 * Tornado: `tornado.template.Loader`.
 */
export class Loader extends BaseLoader {
  /** The absolute root folder. */
  readonly root: string;

  constructor(rootDirectory: string, options: LoaderOptions = {}) {
    super(options);
    this.root = resolvePath(rootDirectory);
  }

  protected override createTemplate(name: string): Template {
    const path = resolvePath(this.root, name);
    let source: Buffer;
    try {
      const real = realpathSync(path);
      const realRoot = realpathSync(this.root);
      if (
        real !== realRoot &&
        !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)
      ) {
        throw refused(name);
      }
      source = readFileSync(real);
    } catch (err) {
      if (err instanceof TemplateNotFoundError) throw err;
      throw new TemplateNotFoundError(`template not found: ${name}`, {
        cause: err,
        templateName: name,
      });
    }
    // A byte-order mark is not part of the template.
    const start = source[0] === 0xef && source[1] === 0xbb && source[2] === 0xbf ? 3 : 0;
    return new Template(source.subarray(start), { name, loader: this });
  }
}

/**
 * Loads templates from an object of name → source; handy in tests and for templates kept in
 * code.
 *
 * @example
 * ```ts
 * import { DictLoader } from 'typhoon/template';
 * const loader = new DictLoader({
 *   'base.html': '<title>{% block title %}{% end %}</title>',
 *   'page.html': '{% extends "base.html" %}{% block title %}Hi{% end %}',
 * });
 * loader.load('page.html').generate(); // '<title>Hi</title>'
 * ```
 * Tornado: `tornado.template.DictLoader`.
 */
export class DictLoader extends BaseLoader {
  readonly #sources: Record<string, string>;

  constructor(sources: Record<string, string>, options: LoaderOptions = {}) {
    super(options);
    this.#sources = sources;
  }

  protected override createTemplate(name: string): Template {
    if (!Object.hasOwn(this.#sources, name)) {
      throw new TemplateNotFoundError(`template not found: ${name}`, { templateName: name });
    }
    return new Template(this.#sources[name]!, { name, loader: this });
  }
}
