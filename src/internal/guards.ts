/**
 * Type guards that several layers need, kept in one place so they agree.
 * @module
 */

/** A generator object of any kind. */
export type AnyGenerator = Generator<unknown, unknown, unknown>;

/**
 * Whether `x` is a generator object (what calling a generator function returns): something
 * with `next` and `throw`, which typhoon runs as a coroutine.
 */
export function isGeneratorObject(x: unknown): x is AnyGenerator {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as AnyGenerator).next === 'function' &&
    typeof (x as AnyGenerator).throw === 'function'
  );
}

/** Whether `x` is an object literal (or `Object.create(null)`), not an array or an instance. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}
