/**
 * The template reader: source text in, a tree of nodes out. It never runs anything, so a
 * hostile or broken template can only end in a {@link ParseError} naming file and line.
 *
 * The scanning rules are Tornado's: `{{ }}` expressions, `{% %}` directives, `{# #}` comments,
 * `{{!`/`{%!`/`{#!` for the literal braces, the innermost pair of a run of `{`, and a `{` as
 * the last character of a file is text.
 * @module
 */

import { ParseError } from '../errors.ts';

/** How runs of whitespace in a template's text (not in its expressions) are treated. */
export type WhitespaceMode = 'all' | 'single' | 'oneline';

// Python's `\s` on text, so the modes collapse exactly what Tornado's collapse.
const SPACE_CLASS = String.raw`[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`;
const SINGLE_BLANKS = /[\t ]+/g;
const SINGLE_NEWLINES = new RegExp(`${SPACE_CLASS}*\\n${SPACE_CLASS}*`, 'g');
const ONELINE = new RegExp(`${SPACE_CLASS}+`, 'g');

/** Throw unless `mode` is a whitespace mode; the error names it. */
export function checkWhitespaceMode(
  mode: string,
  filename?: string,
  lineno = 0,
): asserts mode is WhitespaceMode {
  if (mode !== 'all' && mode !== 'single' && mode !== 'oneline') {
    throw new ParseError(`invalid whitespace mode ${mode}`, filename, lineno);
  }
}

/**
 * Transform the whitespace of template text according to `mode`: `all` keeps it as it is,
 * `single` collapses each run of spaces and tabs into one space and each run of whitespace
 * holding a newline into one newline, `oneline` collapses every run of whitespace into one
 * space. An unknown mode throws a {@link ParseError} naming it.
 *
 * @example
 * ```ts
 * filterWhitespace('single', '  a\n\n   b'); // ' a\nb'
 * filterWhitespace('oneline', 'a\n\n  b'); // 'a b'
 * ```
 * Tornado: `tornado.template.filter_whitespace`.
 */
export function filterWhitespace(mode: WhitespaceMode, text: string): string {
  checkWhitespaceMode(mode);
  if (mode === 'all') return text;
  if (mode === 'single') return text.replace(SINGLE_BLANKS, ' ').replace(SINGLE_NEWLINES, '\n');
  return text.replace(ONELINE, ' ');
}

// ---------------------------------------------------------------------------------------------
// The tree
// ---------------------------------------------------------------------------------------------

/** A piece of literal output (already whitespace-filtered). */
export interface TextNode {
  kind: 'text';
  value: string;
}
/** `{{ expr }}` (escaped by the file's autoescape), `{% raw expr %}` and `{% module expr %}`. */
export interface ExpressionNode {
  kind: 'expression';
  code: string;
  line: number;
  raw: boolean;
}
/** `{% set … %}`, `{% break %}`, `{% continue %}`. */
export interface StatementNode {
  kind: 'set' | 'break' | 'continue';
  code: string;
  line: number;
}
/** One clause of a control block: its opening directive and body. */
export interface Clause {
  /** `if`, `elif`, `else`, `for`, `while`, `try`, `except`, `finally`. */
  keyword: string;
  /** The directive's text after the keyword. */
  suffix: string;
  line: number;
  body: Node[];
}
/** `{% if %}`, `{% for %}`, `{% while %}`, `{% try %}` with their intermediate clauses. */
export interface ControlNode {
  kind: 'control';
  clauses: Clause[];
}
/** `{% apply f %}…{% end %}`. */
export interface ApplyNode {
  kind: 'apply';
  method: string;
  line: number;
  body: Node[];
}
/** `{% block name %}…{% end %}`. */
export interface BlockNode {
  kind: 'block';
  name: string;
  line: number;
  body: Node[];
}
/** `{% include path %}` and `{% extends path %}`. */
export interface ReferenceNode {
  kind: 'include' | 'extends';
  path: string;
  line: number;
}

export type Node =
  TextNode | ExpressionNode | StatementNode | ControlNode | ApplyNode | BlockNode | ReferenceNode;

/** A parsed template file. */
export interface ParsedFile {
  name: string;
  body: Node[];
  /** The last `{% autoescape %}` of the file wins; `undefined` when the file has none. */
  autoescape: string | null | undefined;
}

// ---------------------------------------------------------------------------------------------
// The reader
// ---------------------------------------------------------------------------------------------

const INTERMEDIATE: Record<string, readonly string[]> = {
  else: ['if', 'for', 'while', 'try'],
  elif: ['if'],
  except: ['try'],
  catch: ['try'],
  finally: ['try'],
};
const OPENERS = new Set(['apply', 'block', 'try', 'if', 'for', 'while']);

/** Python's repr of a set, for Tornado's wording (`{'for', 'while'}`). */
function pySet(items: readonly string[]): string {
  return `{${items.map((i) => `'${i}'`).join(', ')}}`;
}

class Reader {
  readonly name: string;
  readonly text: string;
  whitespace: WhitespaceMode;
  pos = 0;
  line = 1;
  autoescape: string | null | undefined = undefined;

  constructor(name: string, text: string, whitespace: WhitespaceMode) {
    this.name = name;
    this.text = text;
    this.whitespace = whitespace;
  }

  /** Take `count` characters (all that remain by default), counting newlines. */
  consume(count = this.text.length - this.pos): string {
    const end = this.pos + count;
    const s = this.text.slice(this.pos, end);
    for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) this.line++;
    this.pos = end;
    return s;
  }

  fail(message: string, line = this.line): never {
    throw new ParseError(message, this.name, line);
  }

  textNode(value: string): TextNode | null {
    // A crude guard, as Tornado's: preformatted text keeps its whitespace.
    const filtered = value.includes('<pre>') ? value : filterWhitespace(this.whitespace, value);
    return filtered ? { kind: 'text', value: filtered } : null;
  }
}

interface Context {
  /** The innermost open block's keyword. */
  block: string | undefined;
  /** Line of that block's opening directive. */
  blockLine: number;
  /** Inside a loop body (not counting `apply`, which Tornado compiles to a function). */
  inLoop: boolean;
}

/** What one call of {@link parseBody} stopped at. */
interface BodyEnd {
  body: Node[];
  /** `end`, or the intermediate keyword that closed this body. */
  stop: 'end' | 'eof' | string;
  suffix: string;
  line: number;
}

/**
 * Parse template source into a {@link ParsedFile}.
 * @throws ParseError for any malformed template.
 */
export function parseTemplate(
  name: string,
  source: string,
  whitespace: WhitespaceMode,
): ParsedFile {
  const reader = new Reader(name, source, whitespace);
  const top = parseBody(reader, { block: undefined, blockLine: 0, inLoop: false });
  return { name, body: top.body, autoescape: reader.autoescape };
}

function parseBody(reader: Reader, ctx: Context): BodyEnd {
  const body: Node[] = [];
  const push = (node: Node | null): void => {
    if (node) body.push(node);
  };
  const text = reader.text;
  for (;;) {
    // Find the next directive start.
    let curly = reader.pos;
    for (;;) {
      curly = text.indexOf('{', curly);
      if (curly === -1 || curly + 1 === text.length) {
        if (ctx.block !== undefined) {
          reader.fail(`Missing {% end %} block for ${ctx.block}`, ctx.blockLine);
        }
        push(reader.textNode(reader.consume()));
        return { body, stop: 'eof', suffix: '', line: reader.line };
      }
      const next = text[curly + 1];
      if (next !== '{' && next !== '%' && next !== '#') {
        curly += 1;
        continue;
      }
      // In a run of three or more braces the innermost pair counts (handy for LaTeX).
      if (curly + 2 < text.length && next === '{' && text[curly + 2] === '{') {
        curly += 1;
        continue;
      }
      break;
    }
    if (curly > reader.pos) push(reader.textNode(reader.consume(curly - reader.pos)));

    const start = reader.consume(2);
    const line = reader.line;
    if (text[reader.pos] === '!') {
      // `{{!`, `{%!`, `{#!`: the literal braces.
      reader.consume(1);
      push({ kind: 'text', value: start });
      continue;
    }

    if (start === '{#') {
      const end = text.indexOf('#}', reader.pos);
      if (end === -1) reader.fail('Missing end comment #}');
      reader.consume(end - reader.pos + 2);
      continue;
    }

    if (start === '{{') {
      const end = text.indexOf('}}', reader.pos);
      if (end === -1) reader.fail('Missing end expression }}');
      const contents = reader.consume(end - reader.pos).trim();
      reader.consume(2);
      if (!contents) reader.fail('Empty expression', line);
      push({ kind: 'expression', code: contents, line, raw: false });
      continue;
    }

    // `{%`
    const end = text.indexOf('%}', reader.pos);
    if (end === -1) reader.fail('Missing end block %}');
    const contents = reader.consume(end - reader.pos).trim();
    reader.consume(2);
    if (!contents) reader.fail('Empty block tag ({% %})', line);
    const split = /\s/.exec(contents);
    const operator = split ? contents.slice(0, split.index) : contents;
    const suffix = split ? contents.slice(split.index).trim() : '';

    const parents = INTERMEDIATE[operator];
    if (parents !== undefined) {
      if (ctx.block === undefined) reader.fail(`${operator} outside ${pySet(parents)} block`, line);
      if (!parents.includes(ctx.block)) {
        reader.fail(`${operator} block cannot be attached to ${ctx.block} block`, line);
      }
      return { body, stop: operator, suffix, line };
    }

    switch (operator) {
      case 'end':
        if (ctx.block === undefined) reader.fail('Extra {% end %} block', line);
        return { body, stop: 'end', suffix, line };
      case 'comment':
        continue;
      case 'extends':
      case 'include': {
        const path = stripQuotes(suffix);
        if (!path) reader.fail(`${operator} missing file path`, line);
        push({ kind: operator, path, line });
        continue;
      }
      case 'set':
        if (!suffix) reader.fail('set missing statement', line);
        push({ kind: 'set', code: suffix, line });
        continue;
      case 'import':
      case 'from':
        reader.fail(
          `{% ${operator} %} is not supported: put what the template needs in its namespace`,
          line,
        );
        break;
      case 'autoescape':
        if (!suffix) reader.fail('autoescape missing function name', line);
        reader.autoescape = suffix === 'None' || suffix === 'null' ? null : suffix;
        continue;
      case 'whitespace':
        checkWhitespaceMode(suffix, reader.name, line);
        reader.whitespace = suffix;
        continue;
      case 'raw':
        if (!suffix) reader.fail('raw missing expression', line);
        push({ kind: 'expression', code: suffix, line, raw: true });
        continue;
      case 'module':
        if (!suffix) reader.fail('module missing expression', line);
        // Tornado's `_tt_modules.Expr`: the web layer puts `modules` in the namespace.
        push({ kind: 'expression', code: `modules.${suffix}`, line, raw: true });
        continue;
      case 'break':
      case 'continue':
        if (!ctx.inLoop) reader.fail(`${operator} outside ${pySet(['for', 'while'])} block`, line);
        push({ kind: operator, code: operator, line });
        continue;
      default:
        if (OPENERS.has(operator)) {
          push(parseOpener(reader, ctx, operator, suffix, line));
          continue;
        }
        reader.fail(`unknown operator: '${operator}'`, line);
    }
  }
}

function parseOpener(
  reader: Reader,
  ctx: Context,
  operator: string,
  suffix: string,
  line: number,
): Node {
  const loop = operator === 'for' || operator === 'while';
  // An apply block becomes a function, so break/continue cannot cross it (as in Tornado).
  const inner: Context = {
    block: operator,
    blockLine: line,
    inLoop: loop || (operator !== 'apply' && ctx.inLoop),
  };
  const clauses: Clause[] = [];
  let keyword = operator;
  let clauseSuffix = suffix;
  let clauseLine = line;
  for (;;) {
    // An `else` of a loop runs after it, so break/continue there belong to the outer loop.
    const bodyCtx = loop && keyword === 'else' ? { ...inner, inLoop: ctx.inLoop } : inner;
    const part = parseBody(reader, bodyCtx);
    clauses.push({ keyword, suffix: clauseSuffix, line: clauseLine, body: part.body });
    if (part.stop === 'end') break;
    checkClauseOrder(reader, operator, clauses, part.stop, part.line);
    keyword = part.stop;
    clauseSuffix = part.suffix;
    clauseLine = part.line;
  }
  if (operator === 'apply') {
    if (!suffix) reader.fail('apply missing method name', line);
    return { kind: 'apply', method: suffix, line, body: clauses[0]!.body };
  }
  if (operator === 'block') {
    if (!suffix) reader.fail('block missing name', line);
    return { kind: 'block', name: suffix, line, body: clauses[0]!.body };
  }
  if (!suffix && operator !== 'try') reader.fail(`${operator} missing condition`, line);
  if (suffix && operator === 'try') reader.fail('try takes no argument', line);
  const last = clauses[clauses.length - 1]!;
  if (operator === 'try' && clauses.length === 1) {
    reader.fail('try block needs an except or finally clause', last.line);
  }
  return { kind: 'control', clauses };
}

/** Intermediate clauses must come in Python's order; a wrong order is a parse error here. */
function checkClauseOrder(
  reader: Reader,
  operator: string,
  clauses: Clause[],
  next: string,
  line: number,
): void {
  const previous = clauses[clauses.length - 1]!.keyword;
  const seen = (k: string) => clauses.some((c) => c.keyword === k);
  let ok: boolean;
  if (operator === 'if') ok = previous !== 'else';
  else if (operator === 'for' || operator === 'while') ok = clauses.length === 1;
  else {
    // try: except* [else] [finally], at least one except before else.
    const isExcept = next === 'except' || next === 'catch';
    if (isExcept) ok = !seen('else') && !seen('finally');
    else if (next === 'else')
      ok = (seen('except') || seen('catch')) && !seen('else') && !seen('finally');
    else ok = !seen('finally');
  }
  if (!ok) reader.fail(`${next} block cannot follow ${previous} block in ${operator}`, line);
}

function stripQuotes(s: string): string {
  return s.replace(/^"+|"+$/g, '').replace(/^'+|'+$/g, '');
}
