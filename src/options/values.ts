/**
 * The value types of options and their command-line syntax: numbers, booleans, Tornado's date
 * formats, durations, integer ranges.
 * @module
 */

/**
 * The type of an option's value: `String`, `Number`, `Boolean`, `Date`, `'duration'`
 * (milliseconds, a number), or any class constructed from the command-line text
 * (`new Email('a@b.c')`; assignment then requires an instance).
 */
export type OptionType =
  | StringConstructor
  | NumberConstructor
  | BooleanConstructor
  | DateConstructor
  | 'duration'
  | (new (text: string) => unknown);

/** The largest number of values one `a:b` range may produce. */
export const MAX_RANGE_SIZE = 100_000;
/** The type's name in messages: `number`, `duration`, `boolean`, … */
export const typeName = (type: OptionType): string =>
  type === 'duration' ? 'duration' : type === Boolean ? 'boolean' : type.name.toLowerCase();

/** What kind of value a message says was given. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'Date';
  return typeof value;
}

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+$/;

/** A decimal number, as Python's `float()` reads one (no hex, no empty string). */
export function parseNumber(text: string): number {
  if (!NUMBER.test(text.trim())) throw new Error(`'${text}' is not a number`);
  return Number(text);
}

/** Tornado's rule: `false`, `0` and `f` in any case are false, anything else true. */
export function parseBoolean(text: string): boolean {
  return !['false', '0', 'f'].includes(text.toLowerCase());
}

// Tornado's formats (strptime), most specific first. `a` = weekday, `b` = month abbreviation.
const MONTH_ABBR = [
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'oct',
  'nov',
  'dec',
];
const D = {
  Y: '(?<Y>\\d{4})',
  m: '(?<m>1[0-2]|0[1-9]|[1-9])',
  d: '(?<d>3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
  H: '(?<H>2[0-3]|[0-1]\\d|\\d)',
  M: '(?<M>[0-5]\\d|\\d)',
  S: '(?<S>6[0-1]|[0-5]\\d|\\d)',
  a: '(?:mon|tue|wed|thu|fri|sat|sun)',
  b: `(?<b>${MONTH_ABBR.join('|')})`,
};
const DATE_FORMATS = [
  `${D.a} ${D.b} ${D.d} ${D.H}:${D.M}:${D.S} ${D.Y}`, // %a %b %d %H:%M:%S %Y
  `${D.Y}-${D.m}-${D.d} ${D.H}:${D.M}:${D.S}`,
  `${D.Y}-${D.m}-${D.d} ${D.H}:${D.M}`,
  `${D.Y}-${D.m}-${D.d}T${D.H}:${D.M}`,
  `${D.Y}${D.m}${D.d} ${D.H}:${D.M}:${D.S}`,
  `${D.Y}${D.m}${D.d} ${D.H}:${D.M}`,
  `${D.Y}-${D.m}-${D.d}`,
  `${D.Y}${D.m}${D.d}`,
  `${D.H}:${D.M}:${D.S}`,
  `${D.H}:${D.M}`,
].map((f) => new RegExp(`^${f}$`, 'i'));

/** Parse a date in one of Tornado's formats, in local time (time-only forms: 1900-01-01). */
export function parseDate(text: string): Date {
  for (const format of DATE_FORMATS) {
    const g = format.exec(text)?.groups;
    if (g === undefined) continue;
    const year = g.Y === undefined ? 1900 : Number(g.Y);
    const month =
      g.b !== undefined
        ? MONTH_ABBR.indexOf(g.b.toLowerCase())
        : g.m === undefined
          ? 0
          : Number(g.m) - 1;
    const day = g.d === undefined ? 1 : Number(g.d);
    const date = new Date(year, month, day, Number(g.H ?? 0), Number(g.M ?? 0), Number(g.S ?? 0));
    date.setFullYear(year); // years 0-99 are not 1900-1999
    if (date.getDate() !== day || date.getMonth() !== month) break; // April 31st and the like
    return date;
  }
  throw new Error(`unrecognized date/time format '${text}'`);
}

const DURATION_UNITS: Record<string, number> = {
  us: 0.001,
  microseconds: 0.001,
  ms: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  weeks: 604_800_000,
};
const DURATION_TERM = /\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-z]*)\s*/y;

/**
 * Parse a duration in Tornado's syntax to milliseconds: `150ms`, `2s`, `1.5h`, `1h 30m`,
 * `1h30m`; units `us ms s sec m min h d w` (and Tornado's long names, `seconds`, …). A number
 * without a unit is milliseconds (Tornado: seconds; typhoon counts in milliseconds).
 *
 * @example
 * ```ts
 * parseDuration('1h 30m'); // 5_400_000
 * ```
 * Tornado: `tornado.options._Option._parse_timedelta`.
 */
export function parseDuration(text: string): number {
  let total = 0;
  let terms = 0;
  DURATION_TERM.lastIndex = 0;
  while (DURATION_TERM.lastIndex < text.length) {
    const m = DURATION_TERM.exec(text);
    const unit = m === null ? undefined : DURATION_UNITS[m[2] || 'ms'];
    if (m === null || unit === undefined) throw new Error(`malformed duration '${text}'`);
    total += Number(m[1]) * unit;
    terms++;
  }
  if (terms === 0 || !Number.isFinite(total)) throw new Error(`malformed duration '${text}'`);
  return total;
}

/** One command-line value of a type. */
export function parseOne(type: OptionType, text: string): unknown {
  if (type === String) return text;
  if (type === Number) return parseNumber(text);
  if (type === Boolean) return parseBoolean(text);
  if (type === Date) return parseDate(text);
  if (type === 'duration') return parseDuration(text);
  return new (type as new (text: string) => unknown)(text);
}

/** `a:b`, both integers, `a <= b`: the integers from a to b inclusive. */
export function parseRange(part: string): number[] {
  const colon = part.indexOf(':');
  const lo = part.slice(0, colon).trim();
  const hi = part.slice(colon + 1).trim();
  if (!INTEGER.test(lo) || !INTEGER.test(hi)) throw new Error(`malformed range '${part}'`);
  const [a, b] = [Number(lo), Number(hi)];
  if (a > b) throw new Error(`malformed range '${part}' (${a} > ${b})`);
  if (b - a + 1 > MAX_RANGE_SIZE) {
    throw new Error(`range '${part}' has more than ${MAX_RANGE_SIZE} values`);
  }
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

/** Whether an assigned value has the type (`null` always has). */
export function isOfType(type: OptionType, value: unknown): boolean {
  if (value === null) return true;
  if (type === String) return typeof value === 'string';
  if (type === Number) return typeof value === 'number' && !Number.isNaN(value);
  if (type === Boolean) return typeof value === 'boolean';
  if (type === Date) return value instanceof Date && !Number.isNaN(value.getTime());
  if (type === 'duration') return typeof value === 'number' && Number.isFinite(value);
  return value instanceof (type as new (text: string) => unknown);
}

/** The type a default implies, or undefined when it implies none. */
export function inferType(value: unknown, multiple: boolean): OptionType | undefined {
  const sample = multiple && Array.isArray(value) ? value[0] : value;
  if (sample === undefined || sample === null) return String;
  if (typeof sample === 'string') return String;
  if (typeof sample === 'number') return Number;
  if (typeof sample === 'boolean') return Boolean;
  if (sample instanceof Date) return Date;
  return undefined;
}

/** A default as `--help` shows it. */
export function formatDefault(value: unknown, type: OptionType): string {
  const one = (v: unknown): string =>
    v instanceof Date ? v.toISOString() : type === 'duration' ? `${String(v)}ms` : String(v);
  return Array.isArray(value) ? value.map(one).join(',') : one(value);
}
