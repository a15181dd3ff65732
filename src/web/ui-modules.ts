/**
 * UI modules: reusable pieces of a page that bring their own JavaScript and CSS.
 *
 * A template writes `{% module Name(args) %}`; the handler keeps one instance of each module
 * class per request, calls its `render(...args)` (the output is inserted unescaped), and when
 * `render()` finishes the page it collects every active module's resources and inserts them
 * where Tornado 6.2 does: `<link>`s, `<style>` and `htmlHead()` before `</head>`; `<script>`s,
 * the embedded JavaScript (in one CDATA-wrapped `<script>`) and `htmlBody()` before the last
 * `</body>`. Relative file names go through `staticUrl`; a file named twice is linked once.
 *
 * @example
 * ```ts
 * class Entry extends UIModule {
 *   override render(entry: { title: string }) {
 *     return this.renderString('modules/entry.html', { entry });
 *   }
 *   override cssFiles() { return ['entry.css']; }
 * }
 * new Application(rules, { templatePath: 'templates', uiModules: { Entry } });
 * // templates/page.html: {% for e in entries %}{% module Entry(e) %}{% end %}
 * ```
 * Tornado: `tornado.web.UIModule`, `TemplateModule` and `RequestHandler.render`.
 * @module
 */

import { isDeepStrictEqual } from 'node:util';
import { linkify, xhtmlEscape, type LinkifyOptions } from '../escape.ts';
import type { HTTPServerRequest } from '../httputil/index.ts';
import type { Locale } from '../locale/index.ts';
import type { TemplateNamespace } from '../template/index.ts';

/**
 * What a UI module needs from the handler that renders it; `RequestHandler` has all of it.
 * (Declared here, not imported, so this file has no runtime tie to the handler module.)
 */
export interface UIModuleHost {
  readonly request: HTTPServerRequest;
  readonly locale: Locale;
  readonly currentUser: unknown;
  /** Render a template of the application's template path to a string. */
  renderString(templateName: string, namespace?: TemplateNamespace): string;
  /** The URL of a static file, with its version hash unless `includeVersion` is false. */
  staticUrl(path: string, includeVersion?: boolean): string;
  /** The hidden `_xsrf` form field for the current request. */
  xsrfFormHtml(): string;
}

/** A file name or a list of them, as `javascriptFiles()` and `cssFiles()` may return. */
export type ResourceFiles = string | Iterable<string> | null | undefined;

/**
 * A reusable piece of a page, used in a template as `{% module Name(args) %}` after being
 * registered with the `uiModules` setting. Override `render(...args)`; the resource methods
 * (`embeddedJavascript`, `javascriptFiles`, `embeddedCss`, `cssFiles`, `htmlHead`,
 * `htmlBody`) are asked once per page, after it rendered, and their answers are inserted in the
 * page by `RequestHandler.render`. One instance serves every use of the module in one request.
 * Its output is never escaped: escape the data it puts in (its templates do that by default).
 *
 * @example
 * ```ts
 * class Clock extends UIModule {
 *   override render(label: string) {
 *     return `<time class="clock">${xhtmlEscape(label)}</time>`;
 *   }
 *   override embeddedJavascript() { return 'startClocks();'; }
 *   override javascriptFiles() { return ['clock.js']; } // → staticUrl('clock.js')
 * }
 * ```
 * Tornado: `tornado.web.UIModule`.
 */
export class UIModule {
  /** The handler rendering the page. */
  readonly handler: UIModuleHost;
  /** The request being answered. */
  readonly request: HTTPServerRequest;

  constructor(handler: UIModuleHost) {
    this.handler = handler;
    this.request = handler.request;
  }

  /** The handler's locale (`RequestHandler.locale`). */
  get locale(): Locale {
    return this.handler.locale;
  }

  /** The handler's signed-in user (`RequestHandler.currentUser`). */
  get currentUser(): unknown {
    return this.handler.currentUser;
  }

  /** This module's HTML for one use in a template; override it. Tornado: `UIModule.render`. */
  render(..._args: never[]): string {
    throw new Error(`${this.constructor.name}.render() is not implemented`);
  }

  /** JavaScript put in the page's one embedded `<script>` (before `</body>`). */
  embeddedJavascript(): string | null | undefined {
    return null;
  }

  /** Script files for the page; relative names go through `staticUrl`. */
  javascriptFiles(): ResourceFiles {
    return null;
  }

  /** CSS put in the page's one `<style>` (before `</head>`). */
  embeddedCss(): string | null | undefined {
    return null;
  }

  /** Style sheets for the page; relative names go through `staticUrl`. */
  cssFiles(): ResourceFiles {
    return null;
  }

  /** HTML put at the end of `<head>`. */
  htmlHead(): string | null | undefined {
    return null;
  }

  /** HTML put at the end of `<body>`. */
  htmlBody(): string | null | undefined {
    return null;
  }

  /**
   * Render template `path` (from the handler's template folder) with `namespace` on top of the
   * handler's template names. Tornado: `UIModule.render_string`.
   */
  renderString(path: string, namespace: TemplateNamespace = {}): string {
    return this.handler.renderString(path, namespace);
  }
}

/** The resources a template rendered by {@link TemplateModule} may ask for. */
export interface TemplateResources {
  embeddedJavascript?: string;
  javascriptFiles?: string | string[];
  embeddedCss?: string;
  cssFiles?: string | string[];
  htmlHead?: string;
  htmlBody?: string;
}

/**
 * The built-in module `Template`: `{% module Template('item.html', {item}) %}` renders another
 * template with only the names given (plus the handler's), unlike `{% include %}`, which shares
 * the including template's names. The template may call
 * `{{ setResources({ cssFiles: 'item.css', embeddedJavascript: '…' }) }}` (it outputs
 * nothing); resources are kept once per template file, so they must not depend on the
 * template's arguments (a second, different call for the same file throws).
 *
 * @example
 * ```ts
 * // templates/item.html: {{ setResources({ cssFiles: 'item.css' }) }}<li>{{ item.name }}</li>
 * // templates/list.html: <ul>{% for item in items %}{% module Template('item.html', {item}) %}{% end %}</ul>
 * ```
 * Tornado: `tornado.web.TemplateModule`.
 */
export class TemplateModule extends UIModule {
  // In order of first use; keyed by template path.
  readonly #resources = new Map<string, TemplateResources>();

  override render(path: string, namespace: TemplateNamespace = {}): string {
    const setResources = (resources: TemplateResources): string => {
      const known = this.#resources.get(path);
      if (known === undefined) this.#resources.set(path, { ...resources });
      else if (!isDeepStrictEqual(known, { ...resources })) {
        throw new Error('setResources called with different resources for the same template');
      }
      return '';
    };
    return this.renderString(path, { ...namespace, setResources });
  }

  #texts(key: 'embeddedJavascript' | 'embeddedCss' | 'htmlHead' | 'htmlBody'): string[] {
    const out: string[] = [];
    for (const r of this.#resources.values()) if (r[key] !== undefined) out.push(r[key]);
    return out;
  }

  #files(key: 'javascriptFiles' | 'cssFiles'): string[] {
    const out: string[] = [];
    for (const r of this.#resources.values()) {
      const files = r[key];
      if (typeof files === 'string') out.push(files);
      else if (files !== undefined) out.push(...files);
    }
    return out;
  }

  override embeddedJavascript(): string {
    return this.#texts('embeddedJavascript').join('\n');
  }
  override javascriptFiles(): string[] {
    return this.#files('javascriptFiles');
  }
  override embeddedCss(): string {
    return this.#texts('embeddedCss').join('\n');
  }
  override cssFiles(): string[] {
    return this.#files('cssFiles');
  }
  override htmlHead(): string {
    return this.#texts('htmlHead').join('');
  }
  override htmlBody(): string {
    return this.#texts('htmlBody').join('');
  }
}

/** The built-in module `xsrfFormHtml`: `{% module xsrfFormHtml() %}`. Tornado: `_xsrf_form_html`. */
class XsrfFormHtmlModule extends UIModule {
  override render(): string {
    return this.handler.xsrfFormHtml();
  }
}

/** The built-in module `linkify`: `{% module linkify(text) %}`. Tornado: `_linkify`. */
class LinkifyModule extends UIModule {
  override render(text: string, options?: LinkifyOptions): string {
    return linkify(text, options);
  }
}

/** A UI module class. */
export type UIModuleClass = new (handler: UIModuleHost) => UIModule;

/** The modules every application has, before its `uiModules`. */
export const BUILTIN_UI_MODULES: Readonly<Record<string, UIModuleClass>> = Object.freeze({
  linkify: LinkifyModule,
  xsrfFormHtml: XsrfFormHtmlModule,
  Template: TemplateModule,
});

/**
 * The `uiModules` setting as a name → class map: an object or module namespace of classes
 * (`import * as modules from './modules.ts'`), or an array of them; what is not a `UIModule`
 * subclass is skipped, as Tornado does. Tornado: `Application._load_ui_modules`.
 */
export function loadUIModules(setting: unknown, into: Map<string, UIModuleClass>): void {
  if (setting === null || setting === undefined) return;
  if (Array.isArray(setting)) {
    for (const item of setting) loadUIModules(item, into);
    return;
  }
  if (typeof setting !== 'object') throw new TypeError('uiModules must be an object or an array');
  for (const [name, value] of Object.entries(setting)) {
    if (typeof value === 'function' && value.prototype instanceof UIModule) {
      into.set(name, value as UIModuleClass);
    }
  }
}

/** A UI method as registered: called with the handler first. */
export type UIMethod = (handler: never, ...args: never[]) => unknown;

/**
 * The `uiMethods` setting as a name → function map: an object or module namespace of functions,
 * or an array of them; names starting with `_` or an upper-case letter (classes) are skipped,
 * as Tornado does. Tornado: `Application._load_ui_methods`.
 */
export function loadUIMethods(setting: unknown, into: Map<string, UIMethod>): void {
  if (setting === null || setting === undefined) return;
  if (Array.isArray(setting)) {
    for (const item of setting) loadUIMethods(item, into);
    return;
  }
  if (typeof setting !== 'object') throw new TypeError('uiMethods must be an object or an array');
  for (const [name, value] of Object.entries(setting)) {
    if (
      typeof value === 'function' &&
      !name.startsWith('_') &&
      name[0] === name[0]!.toLowerCase()
    ) {
      into.set(name, value as UIMethod);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Inserting the active modules' resources into a rendered page
// ---------------------------------------------------------------------------------------------

/** Tornado's `is_absolute`: such a file name is used as it is, not through `staticUrl`. */
function isAbsolute(path: string): boolean {
  return path.startsWith('/') || path.startsWith('http:') || path.startsWith('https:');
}

function addFiles(out: string[], files: ResourceFiles): void {
  if (files === null || files === undefined) return;
  if (typeof files === 'string') out.push(files);
  else for (const f of files) out.push(f);
}

/** File names → URLs (relative ones through `staticUrl`), first occurrence kept. */
function uniqueUrls(host: UIModuleHost, files: string[]): string[] {
  const seen = new Set<string>();
  for (const file of files) seen.add(isAbsolute(file) ? file : host.staticUrl(file));
  return [...seen];
}

/**
 * Insert the resources of `modules` (in the order they were first used) into `html`, as
 * Tornado 6.2's `render` does. Returns `html` itself when no module asked for anything.
 */
export function insertResources(
  host: UIModuleHost,
  modules: Iterable<UIModule>,
  html: string,
): string {
  const jsEmbed: string[] = [];
  const jsFiles: string[] = [];
  const cssEmbed: string[] = [];
  const cssFiles: string[] = [];
  const heads: string[] = [];
  const bodies: string[] = [];
  for (const module of modules) {
    const js = module.embeddedJavascript();
    if (js) jsEmbed.push(js);
    addFiles(jsFiles, module.javascriptFiles());
    const css = module.embeddedCss();
    if (css) cssEmbed.push(css);
    addFiles(cssFiles, module.cssFiles());
    const head = module.htmlHead();
    if (head) heads.push(head);
    const body = module.htmlBody();
    if (body) bodies.push(body);
  }
  // Each part is followed by a newline, in Tornado's order; a page without `</head>` gets the
  // head part at its start, one without `</body>` the body part at its end.
  let head = '';
  if (cssFiles.length > 0) {
    const links = uniqueUrls(host, cssFiles).map(
      (url) => `<link href="${xhtmlEscape(url)}" type="text/css" rel="stylesheet"/>`,
    );
    head += links.join('') + '\n';
  }
  if (cssEmbed.length > 0) head += `<style type="text/css">\n${cssEmbed.join('\n')}\n</style>\n`;
  if (heads.length > 0) head += heads.join('') + '\n';
  let body = '';
  if (jsFiles.length > 0) {
    const tags = uniqueUrls(host, jsFiles).map(
      (url) => `<script src="${xhtmlEscape(url)}" type="text/javascript"></script>`,
    );
    body += tags.join('') + '\n';
  }
  if (jsEmbed.length > 0) {
    body += `<script type="text/javascript">\n//<![CDATA[\n${jsEmbed.join('\n')}\n//]]>\n</script>\n`;
  }
  if (bodies.length > 0) body += bodies.join('') + '\n';
  if (body !== '') {
    const at = html.lastIndexOf('</body>');
    html = at < 0 ? html + body : html.slice(0, at) + body + html.slice(at);
  }
  if (head !== '') {
    const at = html.indexOf('</head>');
    html = at < 0 ? head + html : html.slice(0, at) + head + html.slice(at);
  }
  return html;
}
