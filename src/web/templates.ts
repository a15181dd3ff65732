/**
 * The glue between request handlers and templates: `render`, `renderString`, the template
 * namespace, the loader cache, UI modules per request, and the handler's locale.
 *
 * Everything here is lazy: a handler that never renders or reads `locale` pays nothing (no
 * per-request object is made until it does). Loaders are kept per application and template
 * folder, so each template compiles once per process; with `compiledTemplateCache: false` (the
 * default under `debug`) every loader is reset at the first render of each request, so an
 * edited template shows on the next request.
 *
 * `RequestHandler.render` and friends are one-line delegates to the functions here.
 *
 * @example
 * ```ts
 * class Page extends RequestHandler {
 *   override get() {
 *     return this.render('page.html', { title: 'Home', rows });
 *   }
 * }
 * new Application([['/', Page]], { templatePath: 'templates', uiModules: { Entry } });
 * ```
 * Tornado: `RequestHandler.render`, `render_string`, `get_template_namespace`,
 * `create_template_loader`, `locale`, `get_browser_locale`.
 * @module
 */

import type { Future } from '../concurrent.ts';
import { Locale } from '../locale/index.ts';
import {
  Loader,
  type LoaderOptions,
  type TemplateLoader,
  type TemplateNamespace,
} from '../template/index.ts';
import type { ApplicationLike, ApplicationSettings } from './settings.ts';
import {
  BUILTIN_UI_MODULES,
  insertResources,
  loadUIMethods,
  loadUIModules,
  type UIMethod,
  type UIModule,
  type UIModuleClass,
  type UIModuleHost,
} from './ui-modules.ts';

/** What rendering needs from a handler; `RequestHandler` has all of it. */
export interface TemplateHost extends UIModuleHost {
  readonly application: ApplicationLike;
  readonly settings: ApplicationSettings;
  readonly finished: boolean;
  finish(chunk?: string): Future<void>;
  getTemplatePath(): string | null;
  createTemplateLoader(templatePath: string): TemplateLoader;
  getTemplateNamespace(): TemplateNamespace;
  getUserLocale(): Locale | null | undefined;
  getBrowserLocale(defaultCode?: string): Locale;
  reverseUrl(name: string, ...args: unknown[]): string;
}

/** A loader the cache may reset (every `BaseLoader` can). */
type ResettableLoader = TemplateLoader & { reset?: () => void };

/** Per application: its loaders by template path, its UI modules and UI methods. */
interface AppTemplates {
  loaders: Map<string, ResettableLoader>;
  modules: Map<string, UIModuleClass> | undefined;
  methods: Map<string, UIMethod> | undefined;
}

/** Per request, made at its first render. */
interface RequestTemplates {
  /** Module instances by name, in order of first use. */
  active: Map<string, UIModule>;
  /** The `modules` namespace object (made once per request). */
  modules: Record<string, (...args: never[]) => string> | undefined;
  /** Loaders were reset for this request (`compiledTemplateCache: false`). */
  fresh: boolean;
}

const apps = new WeakMap<ApplicationLike, AppTemplates>();
const requests = new WeakMap<TemplateHost, RequestTemplates>();
const locales = new WeakMap<object, Locale>();

function appTemplates(application: ApplicationLike): AppTemplates {
  let state = apps.get(application);
  if (state === undefined) {
    state = { loaders: new Map(), modules: undefined, methods: undefined };
    apps.set(application, state);
  }
  return state;
}

function requestTemplates(handler: TemplateHost): RequestTemplates {
  let state = requests.get(handler);
  if (state === undefined) {
    state = { active: new Map(), modules: undefined, fresh: false };
    requests.set(handler, state);
  }
  return state;
}

/** The application's UI modules: the built-ins, then its `uiModules` setting. */
function uiModulesOf(application: ApplicationLike): Map<string, UIModuleClass> {
  const state = appTemplates(application);
  if (state.modules === undefined) {
    const modules = new Map<string, UIModuleClass>(Object.entries(BUILTIN_UI_MODULES));
    loadUIModules(application.settings.uiModules, modules);
    state.modules = modules;
  }
  return state.modules;
}

/** The application's UI methods (its `uiMethods` setting). */
function uiMethodsOf(application: ApplicationLike): Map<string, UIMethod> {
  const state = appTemplates(application);
  if (state.methods === undefined) {
    const methods = new Map<string, UIMethod>();
    loadUIMethods(application.settings.uiMethods, methods);
    state.methods = methods;
  }
  return state.methods;
}

/**
 * The loader for `templatePath` made by `handler.createTemplateLoader` once per application
 * (reset at the first render of a request under `compiledTemplateCache: false`).
 */
function loaderFor(handler: TemplateHost): ResettableLoader {
  const state = appTemplates(handler.application);
  const path = handler.getTemplatePath() ?? '';
  if (handler.settings.compiledTemplateCache === false) {
    const request = requestTemplates(handler);
    if (!request.fresh) {
      request.fresh = true;
      for (const loader of state.loaders.values()) loader.reset?.();
    }
  }
  let loader = state.loaders.get(path);
  if (loader === undefined) {
    loader = handler.createTemplateLoader(path) as ResettableLoader;
    state.loaders.set(path, loader);
  }
  return loader;
}

/**
 * The default `createTemplateLoader`: the `templateLoader` setting, else a {@link Loader} on
 * `templatePath` with the `autoescape` (`null`: off) and `templateWhitespace` settings.
 * Tornado: `RequestHandler.create_template_loader`.
 */
export function createTemplateLoader(
  settings: ApplicationSettings,
  templatePath: string,
): TemplateLoader {
  if (settings.templateLoader !== undefined && settings.templateLoader !== null) {
    return settings.templateLoader;
  }
  if (templatePath === '') {
    throw new Error("Set the 'templatePath' (or 'templateLoader') setting to render templates");
  }
  const options: LoaderOptions = {};
  if (Object.hasOwn(settings, 'autoescape')) options.autoescape = settings.autoescape ?? null;
  if (settings.templateWhitespace !== undefined) options.whitespace = settings.templateWhitespace;
  return new Loader(templatePath, options);
}

/** The `modules` namespace: each UI module name → a function rendering its per-request instance. */
function modulesNamespace(handler: TemplateHost): Record<string, (...args: never[]) => string> {
  const state = requestTemplates(handler);
  if (state.modules !== undefined) return state.modules;
  const modules: Record<string, (...args: never[]) => string> = {};
  for (const [name, moduleClass] of uiModulesOf(handler.application)) {
    modules[name] = (...args: never[]): string => {
      let instance = state.active.get(name);
      if (instance === undefined) {
        instance = new moduleClass(handler);
        state.active.set(name, instance);
      }
      return instance.render(...args);
    };
  }
  return (state.modules = modules);
}

/**
 * The names every template rendered by `handler` sees: Tornado's `handler`, `request`,
 * `currentUser`, `locale`, `_`, `pgettext`, `staticUrl`, `xsrfFormHtml`, `reverseUrl`, the
 * UI methods (bound to the handler) and `modules` (the UI modules).
 * Tornado: `RequestHandler.get_template_namespace`.
 */
export function templateNamespace(handler: TemplateHost): TemplateNamespace {
  const locale = handler.locale;
  const namespace: TemplateNamespace = {
    handler,
    request: handler.request,
    currentUser: handler.currentUser,
    locale,
    _: locale.translate.bind(locale),
    pgettext: locale.pgettext.bind(locale),
    staticUrl: handler.staticUrl.bind(handler),
    xsrfFormHtml: handler.xsrfFormHtml.bind(handler),
    reverseUrl: handler.reverseUrl.bind(handler),
  };
  for (const [name, method] of uiMethodsOf(handler.application)) {
    const fn = method as (handler: TemplateHost, ...args: unknown[]) => unknown;
    namespace[name] = (...args: unknown[]) => fn(handler, ...args);
  }
  namespace.modules = modulesNamespace(handler);
  return namespace;
}

/**
 * Render template `name` with the handler's namespace and `namespace` on top.
 * Tornado: `RequestHandler.render_string`.
 */
export function renderString(
  handler: TemplateHost,
  name: string,
  namespace: TemplateNamespace | undefined,
): string {
  const template = loaderFor(handler).load(name);
  const names = handler.getTemplateNamespace();
  if (namespace !== undefined) Object.assign(names, namespace);
  return template.generate(names);
}

/**
 * Render template `name`, insert the UI modules' resources, and finish the response with it.
 * Tornado: `RequestHandler.render`.
 */
export function render(
  handler: TemplateHost,
  name: string,
  namespace: TemplateNamespace | undefined,
): Future<void> {
  if (handler.finished) throw new Error('Cannot render() after finish()');
  let html = handler.renderString(name, namespace);
  const state = requests.get(handler);
  if (state !== undefined && state.active.size > 0) {
    html = insertResources(handler, state.active.values(), html);
  }
  return handler.finish(html);
}

// ---------------------------------------------------------------------------------------------
// Locale
// ---------------------------------------------------------------------------------------------

/** `handler.locale`: `getUserLocale()`, else `getBrowserLocale()`, asked once per request. */
export function localeOf(handler: TemplateHost): Locale {
  let locale = locales.get(handler);
  if (locale === undefined) {
    locale = handler.getUserLocale() ?? handler.getBrowserLocale();
    locales.set(handler, locale);
  }
  return locale;
}

/** Assign `handler.locale`. */
export function setLocale(handler: object, locale: Locale): void {
  if (!(locale instanceof Locale)) throw new TypeError('locale must be a Locale');
  locales.set(handler, locale);
}

// A q-value as Python's float() reads it (decimal, exponent, inf, nan); anything else is 0.
const Q_VALUE = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;

/**
 * The language codes of an `Accept-Language` header, best first, as Tornado reads it: a
 * missing `q` is 1, a malformed or negative one counts as 0, and codes with `q` ≤ 0 are
 * dropped; equal scores keep the header's order.
 */
export function parseAcceptLanguage(header: string): string[] {
  const scored: Array<{ code: string; score: number }> = [];
  for (const language of header.split(',')) {
    const parts = language.trim().split(';');
    let score = 1;
    const param = parts[1]?.trim();
    if (parts.length > 1 && param!.startsWith('q=')) {
      const text = param!.slice(2).trim();
      score = Q_VALUE.test(text) ? Number(text.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity')) : 0;
      if (!(score >= 0)) score = 0; // negative and NaN
    }
    if (score > 0) scored.push({ code: parts[0]!, score });
  }
  scored.sort((a, b) => b.score - a.score);
  return scored.map((entry) => entry.code);
}

/**
 * The loaded locale closest to the request's `Accept-Language`, else the `defaultLocale`
 * setting, else `defaultCode` (without the header) or the default locale.
 * Tornado: `RequestHandler.get_browser_locale`.
 */
export function browserLocale(handler: TemplateHost, defaultCode: string): Locale {
  const header = handler.request.headers.get('Accept-Language');
  if (header !== undefined) {
    const codes = parseAcceptLanguage(header);
    if (codes.length > 0) return Locale.getClosest(...codes, handler.settings.defaultLocale);
  }
  return Locale.getClosest(defaultCode);
}
