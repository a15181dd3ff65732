/// <reference types="node" preserve="true" />

/**
 * Tornado's template language, compiled to JavaScript functions.
 *
 * A template is text with `{{ expression }}` output (HTML-escaped by default) and
 * `{% directive %}` control flow, each block closed by a bare `{% end %}`; expressions are
 * JavaScript evaluated with the namespace's names in scope. A loader finds templates by name
 * for `{% include %}` and `{% extends %}` and compiles each once. Templates are trusted code,
 * as in Tornado; the data they render is not, and is escaped unless the template says `raw`.
 *
 * For the web layer: a `Loader` takes `autoescape`, `namespace`, `whitespace` and `cache`
 * (`false` = `compiledTemplateCache: false`); `generate(namespace)` takes the handler's names;
 * `{% module Expr %}` renders `modules.Expr` from the namespace, unescaped.
 *
 * @example
 * ```ts
 * import { DictLoader } from 'typhoon/template';
 * const loader = new DictLoader({
 *   'base.html': '<body>{% block body %}{% end %}</body>',
 *   'list.html':
 *     '{% extends "base.html" %}{% block body %}' +
 *     '{% for item in items %}<p>{{ item }}</p>{% end %}{% end %}',
 * });
 * loader.load('list.html').generate({ items: ['a', '<b>'] });
 * // '<body><p>a</p><p>&lt;b&gt;</p></body>'
 * ```
 * Tornado: `tornado.template`.
 * @module typhoon/template
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
export { ParseError, TemplateNotFoundError } from '../errors.ts';
export { filterWhitespace } from './parser.ts';
export type { WhitespaceMode } from './parser.ts';
export { Template } from './template.ts';
export type { TemplateOptions, TemplateNamespace, TemplateLoader } from './template.ts';
export { BaseLoader, Loader, DictLoader } from './loader.ts';
export type { LoaderOptions } from './loader.ts';
