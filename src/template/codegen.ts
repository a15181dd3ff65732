/**
 * From parsed template files to the body of one JavaScript function.
 *
 * As in Tornado, a template and everything it pulls in (`{% include %}`, its `{% extends %}`
 * ancestors, their blocks) become one function: included files share the including file's
 * names, and the most derived `{% block %}` replaces the base's. The function appends to one
 * string, `_tt_o`; before each piece of user code it records which template line runs, as an
 * index into a table of locations, so a runtime error can name `file:line` and the chain of
 * files it came through without reading stack traces.
 *
 * The function's prologue (which namespace names become local variables) is not made here:
 * see `compile.ts`.
 * @module
 */

import { ParseError, TemplateNotFoundError } from '../errors.ts';
import type { BlockNode, Clause, ControlNode, Node, ParsedFile } from './parser.ts';

/** A parsed file with the autoescape policy that applies to it. */
export interface Unit {
  readonly name: string;
  /** Name (or expression) of the escaping function; `null` when autoescape is off. */
  readonly autoescape: string | null;
  readonly file: ParsedFile;
}

/** Loads another template's {@link Unit} (include and extends targets). */
export type ResolveUnit = (name: string, parentName: string) => Unit;

/** A `{% block %}` and the file it was written in (whose autoescape applies inside it). */
export interface NamedBlock {
  readonly node: BlockNode;
  readonly unit: Unit;
}

/** What {@link generateBody} produces. */
export interface GeneratedBody {
  /** JavaScript statements, to run inside the function's `try` block. */
  code: string;
  /** `locations[i]` is the `file:line` trail of the code that set `_tt_l = i`. */
  locations: string[][];
  /** Every identifier-like token of user code: the namespace names it may read. */
  tokens: Set<string>;
  /** Names the template assigns (`set`, `for`, `except`): declared as function-wide variables. */
  assigned: Set<string>;
  /** Each piece of user code, to find the one at fault when the function does not compile. */
  snippets: Snippet[];
}

/** A piece of user code and a standalone program that checks its syntax. */
export interface Snippet {
  code: string;
  check: string;
  file: string;
  line: number;
}

const IDENTIFIER = /[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/gu;
const SIMPLE_NAME = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/** Words that can never be a variable's name in strict-mode code. */
export const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends ' +
    'false finally for function if import in instanceof new null return super switch this throw ' +
    'true try typeof var void while with yield let static implements interface package private ' +
    'protected public await eval arguments undefined NaN Infinity'
  ).split(' '),
);

export function isBindableName(name: string): boolean {
  return SIMPLE_NAME.test(name) && !RESERVED.has(name) && !name.startsWith('_tt_');
}

interface Frame {
  unit: Unit;
  line: number;
}

interface Loop {
  /** Name of the flag set by `break`, when the loop has an `else` clause. */
  flag: string | null;
}

class Writer {
  readonly out: string[] = [];
  readonly locations: string[][] = [];
  readonly locationIndex = new Map<string, number>();
  readonly tokens = new Set<string>();
  readonly assigned = new Set<string>();
  readonly snippets: Snippet[] = [];
  /** The line of the last location taken, for snippets. */
  line = 0;
  readonly blocks: Map<string, NamedBlock>;
  readonly resolve: ResolveUnit | null;
  current: Unit;
  /** Where the current unit was included from, innermost last. */
  readonly stack: Frame[] = [];
  readonly loops: Loop[] = [];
  counter = 0;
  /** Literal text not yet written out: consecutive pieces become one append. */
  pendingText = '';

  constructor(root: Unit, blocks: Map<string, NamedBlock>, resolve: ResolveUnit | null) {
    this.current = root;
    this.blocks = blocks;
    this.resolve = resolve;
  }

  text(value: string): void {
    this.pendingText += value;
  }

  push(code: string): void {
    if (this.pendingText) {
      this.out.push(`_tt_o += ${JSON.stringify(this.pendingText)};`);
      this.pendingText = '';
    }
    this.out.push(code);
  }

  /** Record user code: its tokens may be namespace names. */
  user(code: string, check = `return (${code}\n);`): string {
    for (const match of code.matchAll(IDENTIFIER)) this.tokens.add(match[0]);
    this.snippets.push({ code, check, file: this.current.name, line: this.line });
    return code;
  }

  /** Index of the location `line` of the current unit, with the include chain. */
  at(line: number): number {
    this.line = line;
    const trail = [`${this.current.name}:${line}`];
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const frame = this.stack[i]!;
      trail.push(`${frame.unit.name}:${frame.line}`);
    }
    const key = trail.join('\n');
    let index = this.locationIndex.get(key);
    if (index === undefined) {
      index = this.locations.length;
      this.locations.push(trail);
      this.locationIndex.set(key, index);
    }
    return index;
  }

  fail(message: string, line: number): never {
    throw new ParseError(message, this.current.name, line);
  }

  load(path: string, line: number): Unit {
    return loadUnit(this.resolve, path, this.current.name, line);
  }

  temp(prefix: string): string {
    return `_tt_${prefix}${this.counter++}`;
  }
}

/** Load an include or extends target, naming the referring line in any error. */
export function loadUnit(
  resolve: ResolveUnit | null,
  path: string,
  fromName: string,
  line: number,
): Unit {
  if (resolve === null) {
    throw new ParseError('{% include %} block found, but no template loader', fromName, line);
  }
  try {
    return resolve(path, fromName);
  } catch (err) {
    // A loop of includes is found by the loader, which knows no line: give it this one.
    if (err instanceof ParseError && err.filename === undefined) {
      throw new ParseError(err.reason, fromName, line);
    }
    if (err instanceof TemplateNotFoundError && !err.message.includes(' (from ')) {
      throw new TemplateNotFoundError(`${err.message} (from ${fromName}:${line})`, {
        cause: err.cause,
        templateName: err.templateName ?? path,
      });
    }
    throw err;
  }
}

/** Collect the named blocks of a file, recursing into includes (later calls override). */
export function findNamedBlocks(
  unit: Unit,
  nodes: readonly Node[],
  blocks: Map<string, NamedBlock>,
  resolve: ResolveUnit | null,
  seen: Set<string> = new Set(),
): void {
  for (const node of nodes) {
    switch (node.kind) {
      case 'block':
        blocks.set(node.name, { node, unit });
        findNamedBlocks(unit, node.body, blocks, resolve, seen);
        break;
      case 'apply':
        findNamedBlocks(unit, node.body, blocks, resolve, seen);
        break;
      case 'control':
        for (const clause of node.clauses) {
          findNamedBlocks(unit, clause.body, blocks, resolve, seen);
        }
        break;
      case 'include': {
        const included = loadUnit(resolve, node.path, unit.name, node.line);
        if (seen.has(included.name)) break;
        seen.add(included.name);
        findNamedBlocks(included, included.file.body, blocks, resolve, seen);
        break;
      }
      default:
        break;
    }
  }
}

/**
 * Generate the function body for `root`, whose blocks are taken from `blocks` (the most
 * derived definitions of every block in the chain of ancestors).
 */
export function generateBody(
  root: Unit,
  blocks: Map<string, NamedBlock>,
  resolve: ResolveUnit | null,
): GeneratedBody {
  const writer = new Writer(root, blocks, resolve);
  writer.at(0);
  emitNodes(writer, root.file.body, true);
  writer.push('');
  return {
    code: writer.out.join('\n'),
    locations: writer.locations,
    tokens: writer.tokens,
    assigned: writer.assigned,
    snippets: writer.snippets,
  };
}

function emitNodes(w: Writer, nodes: readonly Node[], topLevel = false): void {
  for (const node of nodes) emitNode(w, node, topLevel);
}

/** JavaScript that turns `_tt_t` into text (a Buffer as UTF-8, anything else by `String`). */
const AS_TEXT = `(typeof _tt_t === 'string' ? _tt_t : _tt_str(_tt_t))`;

function emitNode(w: Writer, node: Node, topLevel: boolean): void {
  switch (node.kind) {
    case 'text':
      w.text(node.value);
      return;
    case 'expression': {
      const at = w.at(node.line);
      const escape = node.raw ? null : w.current.autoescape;
      const value = escape === null ? AS_TEXT : `(${w.user(escape)})(${AS_TEXT})`;
      w.push(`_tt_l = ${at}; _tt_t = (${w.user(node.code)}\n); _tt_o += ${value};`);
      return;
    }
    case 'set': {
      const at = w.at(node.line);
      declareAssigned(w, node.code);
      // `{a, b} = obj` needs parentheses to be an assignment, not a block.
      const statement = node.code.startsWith('{') ? `(${node.code}\n);` : `${node.code}\n;`;
      w.user(node.code, statement);
      w.push(`_tt_l = ${at}; ${statement}`);
      return;
    }
    case 'break': {
      const loop = w.loops[w.loops.length - 1]!;
      w.push(loop.flag ? `{ ${loop.flag} = true; break; }` : 'break;');
      return;
    }
    case 'continue':
      w.push('continue;');
      return;
    case 'control':
      emitControl(w, node);
      return;
    case 'apply': {
      const at = w.at(node.line);
      w.push(`_tt_t = ((_tt_o) => {`);
      emitNodes(w, node.body);
      w.push(`return _tt_o; })('');`);
      w.push(`_tt_l = ${at}; _tt_t = (${w.user(node.method)}\n)(_tt_t); _tt_o += ${AS_TEXT};`);
      return;
    }
    case 'block': {
      const block = w.blocks.get(node.name) ?? { node, unit: w.current };
      withUnit(w, block.unit, node.line, () => emitNodes(w, block.node.body));
      return;
    }
    case 'include': {
      const included = w.load(node.path, node.line);
      if (w.stack.some((f) => f.unit.name === included.name) || included.name === w.current.name) {
        w.fail(`"${included.name}" includes itself`, node.line);
      }
      withUnit(w, included, node.line, () => emitNodes(w, included.file.body));
      return;
    }
    case 'extends':
      if (!topLevel) w.fail('{% extends %} must be at the top level of a template', node.line);
      return;
  }
}

function withUnit(w: Writer, unit: Unit, line: number, body: () => void): void {
  w.stack.push({ unit: w.current, line });
  const saved = w.current;
  w.current = unit;
  try {
    body();
  } finally {
    w.current = saved;
    w.stack.pop();
  }
}

function emitControl(w: Writer, node: ControlNode): void {
  const first = node.clauses[0]!;
  switch (first.keyword) {
    case 'if':
      emitIf(w, node.clauses);
      return;
    case 'for':
    case 'while':
      emitLoop(w, node.clauses);
      return;
    case 'try':
      emitTry(w, node.clauses);
      return;
  }
}

function condition(w: Writer, clause: Clause): string {
  return `(_tt_l = ${w.at(clause.line)}, (${w.user(clause.suffix)}\n))`;
}

function emitIf(w: Writer, clauses: readonly Clause[]): void {
  clauses.forEach((clause, i) => {
    if (clause.keyword === 'else') w.push('} else {');
    else w.push(`${i === 0 ? 'if' : '} else if'} (${condition(w, clause)}) {`);
    emitNodes(w, clause.body);
  });
  w.push('}');
}

// `for NAME in EXPR`, `for a, b in EXPR`, `for (a, b) of EXPR`, `for [a, b] in EXPR`,
// `for const {a, b} of EXPR`.
const FOR_RE = /^(?:(?:const|let|var)\s+)?([\s\S]+?)\s+(?:in|of)\s+([\s\S]+)$/;

function forTarget(w: Writer, clause: Clause): { head: string; iterable: string } {
  const match = FOR_RE.exec(clause.suffix);
  if (!match) w.fail(`for expects "NAME in EXPR": ${clause.suffix}`, clause.line);
  let target = match[1]!.trim();
  const iterable = match[2]!;
  if (target.startsWith('{') || (target.startsWith('[') && !/^\[[\s\w$,]*\]$/u.test(target))) {
    // A destructuring pattern: bound per iteration, like `const` in JavaScript.
    w.at(clause.line);
    return { head: `const ${w.user(target, `for (const ${target} of []) {}`)}`, iterable };
  }
  if (target.startsWith('(') && target.endsWith(')')) target = target.slice(1, -1);
  if (target.startsWith('[') && target.endsWith(']')) target = target.slice(1, -1);
  const names = target.split(',').map((n) => n.trim());
  if (names.at(-1) === '' && names.length > 1) names.pop(); // `for a, in xs`, Python's 1-tuple
  for (const name of names) {
    if (!isBindableName(name)) w.fail(`invalid loop variable: ${name || '(empty)'}`, clause.line);
    w.assigned.add(name);
    w.tokens.add(name);
  }
  return {
    head: names.length === 1 && !target.includes(',') ? names[0]! : `[${names.join(', ')}]`,
    iterable,
  };
}

function emitLoop(w: Writer, clauses: readonly Clause[]): void {
  const [loop, otherwise] = clauses as [Clause, Clause | undefined];
  const flag = otherwise ? w.temp('brk') : null;
  if (flag) w.push(`{ let ${flag} = false;`);
  if (loop.keyword === 'for') {
    const { head, iterable } = forTarget(w, loop);
    const at = w.at(loop.line);
    w.push(`_tt_l = ${at}; for (${head} of (${w.user(iterable)}\n)) {`);
  } else {
    w.push(`while (${condition(w, loop)}) {`);
  }
  w.loops.push({ flag });
  emitNodes(w, loop.body);
  w.loops.pop();
  w.push('}');
  if (otherwise) {
    w.push(`if (!${flag}) {`);
    emitNodes(w, otherwise.body);
    w.push('} }');
  }
}

const EXCEPT_AS = /^([\s\S]+?)\s+as\s+([\p{ID_Start}$_][\p{ID_Continue}$]*)$/u;

function emitTry(w: Writer, clauses: readonly Clause[]): void {
  const body = clauses[0]!;
  const handlers = clauses.filter((c) => c.keyword === 'except' || c.keyword === 'catch');
  const otherwise = clauses.find((c) => c.keyword === 'else');
  const final = clauses.find((c) => c.keyword === 'finally');
  const ok = otherwise ? w.temp('ok') : null;
  const error = w.temp('e');
  if (ok) w.push(`{ let ${ok} = false;`);
  if (final) w.push('try {');
  if (handlers.length) w.push('try {');
  emitNodes(w, body.body);
  if (ok) w.push(`${ok} = true;`);
  if (handlers.length) {
    w.push(`} catch (${error}) {`);
    let catchesAll = false;
    handlers.forEach((handler, i) => {
      const suffix = handler.suffix;
      const typed = EXCEPT_AS.exec(suffix);
      let test: string;
      let binding: string | null;
      if (suffix === '') {
        [test, binding] = ['true', null];
      } else if (typed) {
        [test, binding] = [`_tt_rt.matches(${error}, (${w.user(typed[1]!)}\n))`, typed[2]!];
      } else if (isBindableName(suffix) && !/^\p{Lu}/u.test(suffix)) {
        // `{% except e %}` binds; `{% except TypeError %}` (a capitalized name) is a class.
        [test, binding] = ['true', suffix];
      } else {
        [test, binding] = [`_tt_rt.matches(${error}, (${w.user(suffix)}\n))`, null];
      }
      if (binding !== null) {
        if (!isBindableName(binding))
          w.fail(`invalid exception variable: ${binding}`, handler.line);
        w.assigned.add(binding);
        w.tokens.add(binding);
      }
      if (test === 'true') catchesAll = true;
      const at = w.at(handler.line);
      w.push(`${i === 0 ? 'if' : '} else if'} ((_tt_l = ${at}, ${test})) {`);
      if (binding !== null) w.push(`${binding} = ${error};`);
      emitNodes(w, handler.body);
    });
    w.push(catchesAll ? '}' : `} else { throw ${error}; }`);
    w.push('}');
  }
  if (otherwise) {
    w.push(`if (${ok}) {`);
    emitNodes(w, otherwise.body);
    w.push('}');
  }
  if (final) {
    w.push('} finally {');
    emitNodes(w, final.body);
    w.push('}');
  }
  if (ok) w.push('}');
}

// The target of `{% set %}`: a name, or an array pattern of names, before an assignment.
const SET_TARGET =
  /^\s*([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*|\[[^\]=]*\]|\{[^}=]*\})\s*(?:[-+*/%&|^]|\*\*|<<|>>>?|&&|\|\||\?\?)?=(?![=>])/u;

/** Declare what `{% set x = … %}` assigns, so one function-wide variable holds it. */
function declareAssigned(w: Writer, code: string): void {
  const match = SET_TARGET.exec(code);
  if (!match) return;
  const target = match[1]!;
  let names: string[];
  if (target.startsWith('[') || target.startsWith('{')) {
    // `[a, , ...b]`, `{a, b: c, d = 1}`: the variable is after a colon, before a default.
    names = target
      .slice(1, -1)
      .split(',')
      .map((part) => {
        const afterColon = part.includes(':') ? part.slice(part.indexOf(':') + 1) : part;
        return afterColon.split('=')[0]!.replace('...', '').trim();
      });
  } else {
    names = [target];
  }
  for (const name of names) {
    if (isBindableName(name)) w.assigned.add(name);
  }
}
