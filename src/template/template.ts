/**
 * `Template`: a template compiled to a JavaScript function, and the runtime it calls.
 *
 * Expressions are JavaScript run with the namespace's names as plain local variables, which
 * is what makes rendering fast: the compiled function starts with `let rows = ns.rows, …` for
 * the names the template mentions, so the body reads locals, not properties. Which names come
 * from where depends on the namespace given to `generate`, so the function is built once per
 * such "shape" (normally one: a page is rendered with the same names every time) and cached.
 * @module
 */

import { Buffer } from 'node:buffer';
import { ParseError } from '../errors.ts';
import { jsonEncode, linkify, squeeze, urlEscape, xhtmlEscape } from '../escape.ts';
import {
  findNamedBlocks,
  generateBody,
  isBindableName,
  loadUnit,
  type NamedBlock,
  type ResolveUnit,
  type Snippet,
  type Unit,
} from './codegen.ts';
import { checkWhitespaceMode, parseTemplate, type WhitespaceMode } from './parser.ts';

/** Names and values visible to a template's expressions. */
export type TemplateNamespace = Record<string, unknown>;

/**
 * What a {@link Template} needs from the loader that made it: the loader's defaults, and a way
 * to load the targets of `{% include %}` and `{% extends %}`. {@link BaseLoader} implements it.
 */
export interface TemplateLoader {
  /** Default autoescape function name (`null`: off) for templates it loads. */
  readonly autoescape: string | null;
  /** Names added to every namespace (the names given to `generate` win). */
  readonly namespace: TemplateNamespace;
  /** Default whitespace mode; `undefined` chooses by file name. */
  readonly whitespace: WhitespaceMode | undefined;
  /** Load `name`, relative to `parentPath`'s folder when given. */
  load(name: string, parentPath?: string): Template;
}

/** Options of {@link Template}. */
export interface TemplateOptions {
  /** The template's name, shown in errors (default `'<string>'`). */
  name?: string;
  /** The loader that resolves `{% include %}` and `{% extends %}`. */
  loader?: TemplateLoader | null;
  /**
   * Name of the escaping function in the namespace for `{{ }}` output, or `null` for none.
   * Default: the loader's, else `'xhtmlEscape'`.
   */
  autoescape?: string | null;
  /** Whitespace mode; default the loader's, else `single` for `.html`/`.js` names, else `all`. */
  whitespace?: WhitespaceMode;
  /** Deprecated (as in Tornado): `true` is `whitespace: 'single'`, `false` is `'all'`. */
  compressWhitespace?: boolean;
}

/** The names every template sees (its namespace and `generate`'s names come on top). */
const DEFAULT_NAMESPACE: TemplateNamespace = Object.freeze({
  escape: xhtmlEscape,
  xhtmlEscape,
  urlEscape,
  jsonEncode,
  squeeze,
  linkify,
  Date,
});

/** Python's constants, accepted in expressions so Tornado templates port unchanged. */
const PYTHON_CONSTANTS: Record<string, string> = { None: 'null', True: 'true', False: 'false' };

/** At most this many namespace shapes are compiled per template; the oldest goes first. */
const MAX_SHAPES = 32;

type Compiled = (
  kwargs: TemplateNamespace,
  loaderNamespace: TemplateNamespace,
  defaults: TemplateNamespace,
  runtime: Runtime,
  locations: string[][],
) => string;

/** Each template's parsed file, for the templates that include or extend it. */
const internals = new WeakMap<Template, Unit>();
/** A file, then its parent's, up to the base. */
const ancestorsOf = new WeakMap<Unit, Unit[]>();

// ---------------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------------

interface Trail {
  message: string;
  trail: string[];
}
const trails = new WeakMap<object, Trail>();

/** What compiled templates call. */
interface Runtime {
  str(value: unknown): string;
  annotate(error: unknown, trail: string[]): unknown;
  matches(error: unknown, type: unknown): boolean;
}

const runtime: Runtime = {
  str(value: unknown): string {
    if (value instanceof Uint8Array) {
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    }
    return String(value);
  },

  /**
   * Add `file:line` (and the files it was reached through) to an error's message, keeping the
   * error itself (its class, its stack, its fields). An error that passes through several
   * templates (a `{% module Template %}` inside a page) collects all of them.
   */
  annotate(error: unknown, trail: string[]): unknown {
    if (typeof error !== 'object' || error === null) return error;
    const err = error as { message?: unknown; stack?: unknown; name?: unknown };
    if (typeof err.message !== 'string') return error;
    try {
      let record = trails.get(error);
      if (record === undefined) {
        record = { message: err.message, trail: [] };
        trails.set(error, record);
      }
      const before = err.message;
      // Read before the message changes: V8 formats a stack lazily, on first read, with the
      // message of that moment, so reading it afterwards would already carry the new text.
      const stack = err.stack;
      record.trail.push(...trail);
      const [first, ...via] = record.trail;
      const message = `${record.message} (at ${first}${via.length ? ` via ${via.join(', ')}` : ''})`;
      err.message = message;
      // The formatted stack keeps its old first line: mend it.
      const header = `${String(err.name)}: ${before}`;
      if (
        typeof stack === 'string' &&
        stack.startsWith(header) &&
        (stack.length === header.length || stack[header.length] === '\n')
      ) {
        err.stack = `${String(err.name)}: ${message}${stack.slice(header.length)}`;
      }
    } catch {
      // A frozen error cannot learn where it happened; it is rethrown as it is.
    }
    return error;
  },

  /** `{% except Type as e %}`: a class (`instanceof`) or an array of classes. */
  matches(error: unknown, type: unknown): boolean {
    if (Array.isArray(type)) return type.some((t) => runtime.matches(error, t));
    if (typeof type !== 'function') {
      throw new TypeError('except expects a class or an array of classes');
    }
    return error instanceof type;
  },
};

// ---------------------------------------------------------------------------------------------
// Template
// ---------------------------------------------------------------------------------------------

/**
 * A compiled template. The source is Tornado's template language with JavaScript expressions:
 * `{{ expr }}` (output, escaped), `{% if %}`/`{% elif %}`/`{% else %}`, `{% for x in xs %}`,
 * `{% while %}`, `{% try %}`/`{% except %}`/`{% finally %}` (each closed by `{% end %}`),
 * `{% set x = … %}`, `{% raw expr %}`, `{% apply f %}`, `{% block %}`, `{% extends %}`,
 * `{% include %}`, `{% module expr %}`, `{% autoescape %}`, `{% whitespace %}`, `{# … #}`.
 * It is parsed and compiled in the constructor, so a malformed template throws a
 * {@link ParseError} (with file and line) there, never while rendering. Templates are trusted
 * code, as in Tornado; the data they render is not, and `{{ }}` escapes it.
 *
 * `generate(namespace)` renders it with the names of `namespace` (plus the loader's namespace
 * and the defaults `escape`, `xhtmlEscape`, `urlEscape`, `jsonEncode`, `squeeze`, `linkify`,
 * `Date`). An error thrown while rendering keeps its class; its message gains the template
 * name and line, through includes, extends and nested templates.
 *
 * `{% module Expr %}` renders `modules.Expr` unescaped, where `modules` is a namespace name:
 * the web layer's UI modules (`{% module Template('item.html', {item}) %}`).
 *
 * @example
 * ```ts
 * import { Template } from 'typhoon/template';
 * const t = new Template('<ul>{% for p in people %}<li>{{ p.name }}</li>{% end %}</ul>');
 * t.generate({ people: [{ name: 'Ann' }, { name: '<Bob>' }] });
 * // '<ul><li>Ann</li><li>&lt;Bob&gt;</li></ul>'
 * ```
 * Tornado: `tornado.template.Template`.
 */
export class Template {
  /** The name given (shown in errors). */
  readonly name: string;
  /** The loader that made it, or `null`. */
  readonly loader: TemplateLoader | null;
  /** The autoescape function name in effect for this file (`null`: off). */
  readonly autoescape: string | null;
  /** The whitespace mode the file started with. */
  readonly whitespace: WhitespaceMode;
  /** The generated JavaScript (the function body, without its namespace prologue). */
  readonly code: string;

  readonly #candidates: string[];
  readonly #assigned: Set<string>;
  readonly #locations: string[][];
  readonly #shapes = new Map<string, Compiled>();

  constructor(source: string | Uint8Array, options: TemplateOptions = {}) {
    const name = options.name ?? '<string>';
    const loader = options.loader ?? null;
    let whitespace = options.whitespace;
    if (options.compressWhitespace !== undefined) {
      if (whitespace !== undefined) {
        throw new TypeError('cannot set both whitespace and compressWhitespace');
      }
      whitespace = options.compressWhitespace ? 'single' : 'all';
    }
    whitespace ??=
      loader?.whitespace ?? (name.endsWith('.html') || name.endsWith('.js') ? 'single' : 'all');
    checkWhitespaceMode(whitespace, name);
    const autoescape =
      options.autoescape !== undefined
        ? options.autoescape
        : loader !== null
          ? loader.autoescape
          : 'xhtmlEscape';

    const text =
      typeof source === 'string'
        ? source
        : Buffer.from(source.buffer, source.byteOffset, source.byteLength).toString('utf8');
    const file = parseTemplate(name, text, whitespace);
    const unit: Unit = {
      name,
      autoescape: file.autoescape !== undefined ? file.autoescape : autoescape,
      file,
    };
    this.name = name;
    this.loader = loader;
    this.autoescape = unit.autoescape;
    this.whitespace = whitespace;

    const resolve: ResolveUnit | null =
      loader === null ? null : (path, parent) => internalsOf(loader.load(path, parent));
    const ancestors = [unit];
    for (const node of file.body) {
      if (node.kind !== 'extends') continue;
      if (loader === null) {
        throw new ParseError('{% extends %} block found, but no template loader', name, node.line);
      }
      const parent = loadUnit(resolve, node.path, name, node.line);
      ancestors.push(...(ancestorsOf.get(parent) ?? [parent]));
    }
    internals.set(this, unit);
    ancestorsOf.set(unit, ancestors);

    const blocks = new Map<string, NamedBlock>();
    for (let i = ancestors.length - 1; i >= 0; i--) {
      findNamedBlocks(ancestors[i]!, ancestors[i]!.file.body, blocks, resolve);
    }
    const generated = generateBody(ancestors[ancestors.length - 1]!, blocks, resolve);
    this.code = generated.code;
    this.#locations = generated.locations;
    this.#assigned = generated.assigned;
    this.#candidates = [...generated.tokens].filter(
      (token) => isBindableName(token) || Object.hasOwn(PYTHON_CONSTANTS, token),
    );
    // Compile now, so code that is not valid JavaScript is a ParseError here, not at render.
    this.#compile('-'.repeat(this.#candidates.length), generated.snippets);
  }

  /** The namespace of the loader (live: changes to it show on the next render). */
  get namespace(): TemplateNamespace {
    return this.loader?.namespace ?? {};
  }

  /**
   * Render the template with `namespace`'s names (they win over the loader's namespace and
   * the defaults). Returns the output as a string.
   *
   * @example
   * ```ts
   * new Template('Hello {{ name }}!').generate({ name: 'Ben' }); // 'Hello Ben!'
   * ```
   * Tornado: `tornado.template.Template.generate` (which takes keyword arguments).
   */
  generate(namespace: TemplateNamespace = {}): string {
    const loaderNamespace = this.loader?.namespace ?? EMPTY;
    // One letter per name the template mentions: where its value comes from.
    let shape = '';
    for (const name of this.#candidates) {
      shape += Object.hasOwn(namespace, name)
        ? 'k'
        : Object.hasOwn(loaderNamespace, name)
          ? 'n'
          : Object.hasOwn(DEFAULT_NAMESPACE, name)
            ? 'd'
            : '-';
    }
    const fn = this.#shapes.get(shape) ?? this.#compile(shape, null);
    return fn(namespace, loaderNamespace, DEFAULT_NAMESPACE, runtime, this.#locations);
  }

  #compile(shape: string, snippets: readonly Snippet[] | null): Compiled {
    const lets: string[] = [];
    this.#candidates.forEach((name, i) => {
      const from = shape[i];
      if (from === 'k') lets.push(`${name} = _tt_k.${name}`);
      else if (from === 'n') lets.push(`${name} = _tt_n.${name}`);
      else if (from === 'd') lets.push(`${name} = _tt_d.${name}`);
      else if (this.#assigned.has(name)) lets.push(name);
      else if (Object.hasOwn(PYTHON_CONSTANTS, name))
        lets.push(`${name} = ${PYTHON_CONSTANTS[name]}`);
    });
    const source =
      `"use strict";\n` +
      (lets.length ? `let ${lets.join(', ')};\n` : '') +
      `const _tt_str = _tt_rt.str;\nlet _tt_o = '', _tt_l = 0, _tt_t;\n` +
      `try {\n${this.code}\n} catch (_tt_err) { throw _tt_rt.annotate(_tt_err, _tt_locs[_tt_l]); }\n` +
      `return _tt_o;`;
    let fn: Compiled;
    try {
      fn = new Function('_tt_k', '_tt_n', '_tt_d', '_tt_rt', '_tt_locs', source) as Compiled;
    } catch (err) {
      if (!(err instanceof SyntaxError) || snippets === null) throw err;
      throw locateSyntaxError(this.name, err, snippets);
    }
    if (this.#shapes.size >= MAX_SHAPES) {
      this.#shapes.delete(this.#shapes.keys().next().value!);
    }
    this.#shapes.set(shape, fn);
    return fn;
  }
}

const EMPTY: TemplateNamespace = Object.freeze({});

function internalsOf(template: Template): Unit {
  const data = internals.get(template);
  if (data === undefined)
    throw new TypeError('the loader returned something that is not a Template');
  return data;
}

/** Find the piece of template code that is not valid JavaScript, for a precise ParseError. */
function locateSyntaxError(
  name: string,
  error: SyntaxError,
  snippets: readonly Snippet[],
): ParseError {
  for (const snippet of snippets) {
    try {
      new Function(`"use strict";\n${snippet.check}`);
    } catch (err) {
      if (err instanceof SyntaxError) {
        return new ParseError(`${err.message} in ${snippet.code}`, snippet.file, snippet.line, {
          cause: err,
        });
      }
    }
  }
  return new ParseError(`invalid template code: ${error.message}`, name, 0, { cause: error });
}
