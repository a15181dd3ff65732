/**
 * gettext's `Plural-Forms` rule (`nplurals=3; plural=(n==1 ? 0 : n%10>=2 && … ? 1 : 2);`),
 * compiled to a function without `eval`: the expression comes from a translation file, and a
 * translation file is data. The grammar is the C subset gettext defines: `n`, integers,
 * `! * / % + - < <= > >= == != && || ?:` and parentheses.
 * @module
 */

/** The longest expression accepted (Python's gettext refuses longer ones too). */
export const MAX_PLURAL_EXPRESSION = 1000;
/** How deeply operators and parentheses may nest. */
export const MAX_PLURAL_DEPTH = 100;

/** A compiled rule: the index of the plural form to use for a count. */
export type PluralRule = (n: number) => number;

/** The rule when a catalog has no `Plural-Forms`: English (`n != 1`), as Python's gettext. */
export const germanicPlural: PluralRule = (n) => (n !== 1 ? 1 : 0);

type Node = (n: number) => number;

const TOKEN = /\s*(?:(\d+)|(n)|(\|\||&&|==|!=|<=|>=|[-+*/%<>!?:()]))/y;

/**
 * Compile the `plural=` part of a `Plural-Forms` header value (the whole header value is
 * accepted too). Throws `SyntaxError` for anything outside the grammar.
 */
export function compilePluralForms(header: string): PluralRule {
  const match = /(?:^|;)\s*plural\s*=\s*([^;]*)/.exec(header);
  const source = (match?.[1] ?? header).trim();
  if (source.length > MAX_PLURAL_EXPRESSION) {
    throw new SyntaxError(
      `plural form expression is too long (${source.length} > ${MAX_PLURAL_EXPRESSION})`,
    );
  }
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (m === null) {
      if (/^\s*$/.test(source.slice(start))) break;
      throw new SyntaxError(`unexpected '${source.slice(start).trim()[0]}' in plural form`);
    }
    tokens.push(m[1] ?? m[2] ?? m[3] ?? '');
  }
  let pos = 0;
  let depth = 0;
  const peek = (): string | undefined => tokens[pos];
  const expect = (t: string): void => {
    if (tokens[pos] !== t) throw new SyntaxError(`expected '${t}' in plural form`);
    pos++;
  };
  const enter = (): void => {
    if (++depth > MAX_PLURAL_DEPTH) throw new SyntaxError('plural form nests too deeply');
  };

  // Precedence climbing, lowest first: ?: (right), ||, &&, == !=, < <= > >=, + -, * / %, !.
  const BINARY: readonly (readonly string[])[] = [
    ['||'],
    ['&&'],
    ['==', '!='],
    ['<', '<=', '>', '>='],
    ['+', '-'],
    ['*', '/', '%'],
  ];

  const ternary = (): Node => {
    enter();
    const cond = binary(0);
    let node = cond;
    if (peek() === '?') {
      pos++;
      const yes = ternary();
      expect(':');
      const no = ternary();
      node = (n) => (cond(n) !== 0 ? yes(n) : no(n));
    }
    depth--;
    return node;
  };

  const binary = (level: number): Node => {
    if (level === BINARY.length) return unary();
    let left = binary(level + 1);
    const ops = BINARY[level] as readonly string[];
    for (let op = peek(); op !== undefined && ops.includes(op); op = peek()) {
      pos++;
      enter();
      const a = left;
      const b = binary(level + 1);
      depth--;
      left = combine(op, a, b);
    }
    return left;
  };

  const unary = (): Node => {
    const t = peek();
    if (t === '!') {
      pos++;
      enter();
      const inner = unary();
      depth--;
      return (n) => (inner(n) === 0 ? 1 : 0);
    }
    if (t === '(') {
      pos++;
      const inner = ternary();
      expect(')');
      return inner;
    }
    if (t === 'n') {
      pos++;
      return (n) => n;
    }
    if (t !== undefined && /^\d+$/.test(t)) {
      pos++;
      const value = Number(t);
      return () => value;
    }
    throw new SyntaxError(
      t === undefined ? 'unexpected end of plural form' : `unexpected '${t}' in plural form`,
    );
  };

  const root = ternary();
  if (pos !== tokens.length) throw new SyntaxError(`unexpected '${tokens[pos]}' in plural form`);
  return (n) => root(n);
}

function combine(op: string, a: Node, b: Node): Node {
  switch (op) {
    case '||':
      return (n) => (a(n) !== 0 || b(n) !== 0 ? 1 : 0);
    case '&&':
      return (n) => (a(n) !== 0 && b(n) !== 0 ? 1 : 0);
    case '==':
      return (n) => (a(n) === b(n) ? 1 : 0);
    case '!=':
      return (n) => (a(n) !== b(n) ? 1 : 0);
    case '<':
      return (n) => (a(n) < b(n) ? 1 : 0);
    case '<=':
      return (n) => (a(n) <= b(n) ? 1 : 0);
    case '>':
      return (n) => (a(n) > b(n) ? 1 : 0);
    case '>=':
      return (n) => (a(n) >= b(n) ? 1 : 0);
    case '+':
      return (n) => a(n) + b(n);
    case '-':
      return (n) => a(n) - b(n);
    case '*':
      return (n) => a(n) * b(n);
    // Integer division as in C; a zero divisor picks form 0 instead of failing a page.
    case '/':
      return (n) => {
        const d = b(n);
        return d === 0 ? 0 : Math.trunc(a(n) / d);
      };
    default:
      return (n) => {
        const d = b(n);
        return d === 0 ? 0 : a(n) % d;
      };
  }
}
