/**
 * URL routing for the web framework: rules that map an anchored regular expression on the
 * request path to a handler class, and the reverse direction (name + arguments → path).
 *
 * A rule is `[pattern, HandlerClass, initArgs?, name?]` or {@link url}`(pattern, HandlerClass,
 * initArgs?, name?)`. Patterns are JavaScript regular expressions (a string or a `RegExp`),
 * anchored at both ends. Positional groups become the handler method's arguments; a pattern
 * with named groups (`(?<id>\d+)`) passes one object of them instead.
 *
 * @example
 * ```ts
 * const spec = url('/user/(\\d+)', UserHandler, { db }, 'user');
 * spec.match('/user/42'); // { args: ['42'], kwargs: undefined }
 * spec.reverse(42); // '/user/42'
 * ```
 * Tornado: `tornado.routing` (`URLSpec`, `url`, `PathMatches`).
 * @module
 */

/**
 * The constructor shape a handler class must have. Typed loosely here so this module does not
 * depend on `RequestHandler` (it only stores and returns the class).
 */
export type HandlerClassLike = abstract new (...args: any[]) => unknown;

/** The arguments a path match gives the handler. */
export interface PathMatch {
  /** Positional groups, percent-decoding not yet applied (`undefined` for unmatched ones). */
  args: Array<string | undefined>;
  /** Named groups, when the pattern has any. */
  kwargs: Record<string, string | undefined> | undefined;
}

/** The match of a pattern without groups, shared (frozen) since it carries nothing. */
const NO_GROUPS: PathMatch = Object.freeze({
  args: Object.freeze([]) as unknown as Array<string | undefined>,
  kwargs: undefined,
});

/** A rule as written in an `Application`'s handler list. */
export type RuleSpec<H extends HandlerClassLike = HandlerClassLike> =
  | URLSpec<H>
  | readonly [pattern: string | RegExp, handler: H, initArgs?: object | null, name?: string];

interface ReversePiece {
  literal: string;
  /** Index of the group that follows the literal, or -1 at the end. */
  group: number;
  groupName: string | undefined;
}

/**
 * One routing rule: an anchored pattern, a handler class, the arguments for its
 * `initialize()`, and an optional name for {@link URLSpec.reverse}.
 * Tornado: `tornado.routing.URLSpec`.
 */
export class URLSpec<H extends HandlerClassLike = HandlerClassLike> {
  /** The compiled, anchored expression. */
  readonly regex: RegExp;
  /** The pattern source as given (without the added anchors). */
  readonly pattern: string;
  /** The handler class. */
  readonly handlerClass: H;
  /** Passed to the handler's `initialize()`. */
  readonly initArgs: object;
  /** Name for `reverseUrl`, if any. */
  readonly name: string | undefined;
  readonly #hasNamedGroups: boolean;
  readonly #reverse: ReversePiece[] | null;
  readonly #groupCount: number;
  /** True when the pattern has no capturing group: a match is a `test()`, nothing to slice. */
  readonly #noGroups: boolean;
  /**
   * The one path a pattern without metacharacters matches (`/about`, `/api/v1\.0`): then a
   * match is a string comparison, where a regex test costs several times more for every
   * request that tries the rule on its way down the list.
   */
  readonly #literal: string | undefined;

  constructor(pattern: string | RegExp, handlerClass: H, initArgs?: object | null, name?: string) {
    let source = typeof pattern === 'string' ? pattern : pattern.source;
    const flags = typeof pattern === 'string' ? '' : pattern.flags.replace(/[gy]/g, '');
    if (source.startsWith('^')) source = source.slice(1);
    if (source.endsWith('$') && !source.endsWith('\\$')) source = source.slice(0, -1);
    this.pattern = source;
    this.regex = new RegExp(`^(?:${source})$`, flags);
    if (typeof handlerClass !== 'function') {
      throw new TypeError(`handler for ${JSON.stringify(source)} must be a class`);
    }
    this.handlerClass = handlerClass;
    this.initArgs = initArgs ?? {};
    this.name = name;
    this.#hasNamedGroups = /\(\?<[A-Za-z_$]/.test(source);
    // An empty alternative always matches, so the result's length counts the groups.
    this.#noGroups = new RegExp(`(?:${source})|`, flags).exec('')!.length === 1;
    const reverse = parseReverse(source);
    this.#reverse = reverse;
    this.#groupCount = reverse === null ? -1 : reverse.filter((p) => p.group >= 0).length;
    // (A flag such as `i` lets one pattern match several spellings: the regex decides then.)
    this.#literal =
      reverse !== null && this.#groupCount === 0 && flags === '' ? reverse[0]!.literal : undefined;
  }

  /** Match a request path; `null` when it does not match. */
  match(path: string): PathMatch | null {
    const literal = this.#literal;
    if (literal !== undefined) return path === literal ? NO_GROUPS : null;
    if (this.#noGroups) return this.regex.test(path) ? NO_GROUPS : null;
    const m = this.regex.exec(path);
    if (m === null) return null;
    if (this.#hasNamedGroups && m.groups !== undefined) {
      const kwargs = Object.create(null) as Record<string, string | undefined>;
      for (const key of Object.keys(m.groups)) kwargs[key] = m.groups[key];
      return { args: [], kwargs };
    }
    return { args: m.slice(1), kwargs: undefined };
  }

  /**
   * Build a path for this rule from arguments (one per group, in order; or one object of
   * named groups). Values are percent-encoded (`/` kept). Throws for patterns too complex to
   * reverse, or a wrong number of arguments. Tornado: `URLSpec.reverse`.
   */
  reverse(...args: unknown[]): string {
    const pieces = this.#reverse;
    if (pieces === null) {
      throw new Error(`cannot reverse the pattern ${JSON.stringify(this.pattern)}: too complex`);
    }
    const named =
      this.#hasNamedGroups &&
      args.length === 1 &&
      args[0] !== null &&
      typeof args[0] === 'object' &&
      !Array.isArray(args[0])
        ? (args[0] as Record<string, unknown>)
        : undefined;
    if (named === undefined && args.length !== this.#groupCount) {
      throw new Error(
        `pattern ${JSON.stringify(this.pattern)} needs ${this.#groupCount} arguments, got ${args.length}`,
      );
    }
    let out = '';
    for (const piece of pieces) {
      out += piece.literal;
      if (piece.group < 0) continue;
      const value =
        named !== undefined && piece.groupName !== undefined
          ? named[piece.groupName]
          : args[piece.group];
      if (value === undefined || value === null) {
        throw new Error(
          `missing argument for group ${piece.groupName ?? piece.group + 1} of ${this.pattern}`,
        );
      }
      out += encodeURIComponent(String(value as string | number)).replace(/%2F/gi, '/');
    }
    return out;
  }

  /** The pattern and the handler's class name, for logs and error messages. */
  toString(): string {
    const cls = (this.handlerClass as { name?: string }).name ?? 'handler';
    return `URLSpec(${JSON.stringify(this.pattern)}, ${cls}${this.name ? `, name=${JSON.stringify(this.name)}` : ''})`;
  }
}

/**
 * Make a routing rule. Same as the tuple form `[pattern, HandlerClass, initArgs, name]`.
 *
 * @example
 * ```ts
 * new Application([url('/story/(\\d+)', StoryHandler, { db }, 'story')]);
 * ```
 * Tornado: `tornado.web.url`.
 */
export function url<H extends HandlerClassLike>(
  pattern: string | RegExp,
  handlerClass: H,
  initArgs?: object | null,
  name?: string,
): URLSpec<H> {
  return new URLSpec(pattern, handlerClass, initArgs, name);
}

/** Turn any accepted rule form into a {@link URLSpec}. */
export function toURLSpec<H extends HandlerClassLike>(rule: RuleSpec<H>): URLSpec<H> {
  if (rule instanceof URLSpec) return rule;
  if (!Array.isArray(rule) || rule.length < 2) {
    throw new TypeError(`a handler rule is [pattern, HandlerClass, initArgs?, name?] or url(...)`);
  }
  const [pattern, handler, initArgs, name] = rule as readonly [
    string | RegExp,
    H,
    (object | null)?,
    string?,
  ];
  return new URLSpec(pattern, handler, initArgs, name);
}

const META = new Set(['.', '*', '+', '?', '[', ']', '{', '}', '|', '^', '$']);

/**
 * Split a pattern into literal text and groups, for reversing. Returns null when the pattern
 * has metacharacters outside groups or nested groups (Tornado's rule: only simple patterns
 * can be reversed).
 */
function parseReverse(source: string): ReversePiece[] | null {
  const pieces: ReversePiece[] = [];
  let literal = '';
  let group = 0;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      const next = source[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return null;
      literal += next;
      i++;
    } else if (ch === '(') {
      if (source[i + 1] === '?' && source[i + 2] === ':') return null;
      let groupName: string | undefined;
      const named = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(source.slice(i));
      if (named !== null) groupName = named[1];
      else if (source[i + 1] === '?') return null;
      // Skip to the matching close paren, honouring escapes and character classes.
      let depth = 0;
      let inClass = false;
      let j = i;
      for (; j < source.length; j++) {
        const c = source[j]!;
        if (c === '\\') {
          j++;
          continue;
        }
        if (inClass) {
          if (c === ']') inClass = false;
          continue;
        }
        if (c === '[') inClass = true;
        else if (c === '(') {
          depth++;
          if (depth > 1) return null;
        } else if (c === ')') {
          depth--;
          if (depth === 0) break;
        }
      }
      if (depth !== 0) return null;
      pieces.push({ literal, group: group++, groupName });
      literal = '';
      i = j;
      // A quantifier on a group (optional group) cannot be reversed reliably.
      if (source[i + 1] !== undefined && '?*+{'.includes(source[i + 1]!)) return null;
    } else if (META.has(ch) || ch === ')') {
      return null;
    } else {
      literal += ch;
    }
  }
  pieces.push({ literal, group: -1, groupName: undefined });
  return pieces;
}
