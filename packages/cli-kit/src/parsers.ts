import { InvalidArgumentError } from 'commander';

/**
 * Flag value parsers for commander options (`.option('--n <n>', '…', positiveInt)`).
 * Each throws commander's InvalidArgumentError with what was expected, so
 * the message reads `option '--n <n>' argument 'x' is invalid. expected …`.
 */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** A parser of whole numbers in min…max: `wholeNumberIn(1, 65535)`; `what` names the values in its message. */
export function wholeNumberIn(min: number, max: number, what = 'a whole number'): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${what} in ${min}…${max}`);
    return n;
  };
}

/**
 * A seed: 0…2^32 − 1 (core's SEED_MAX; cli-kit does not depend on core). The
 * generators keep 32 bits of a seed, so a larger one would repeat a smaller one's run.
 */
export const seed = wholeNumberIn(0, 2 ** 32 - 1, 'a seed (whole number)');

/** A TCP port: 1…65535. */
export const port = wholeNumberIn(1, 65535, 'a port');

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
}

/** `256,128,64` → [256, 128, 64]. */
export function widthList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const widths = parts.map(Number);
  if (parts.some((p) => p === '') || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new InvalidArgumentError('expected comma-separated positive layer widths, e.g. 256,128,64');
  }
  return widths;
}

/** `a, b,,c` → ['a', 'b', 'c']; at least one name. */
export function nameList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new InvalidArgumentError('expected comma-separated names, e.g. user_id,item_id');
  return names;
}

/**
 * One positive whole number for every field, or one per field named:
 * `100000` → 100000, `item_id=100000,user_id=50000` → { item_id: 100000, user_id: 50000 }
 * (a field named twice is refused). Whether the fields exist is the caller's to check.
 */
export function positiveIntPerField(value: string): number | Record<string, number> {
  const expected = 'expected a positive whole number, or FIELD=N pairs separated by commas, e.g. 100000 or item_id=100000,user_id=50000';
  const whole = (s: string) => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError(expected);
    return n;
  };
  if (!value.includes('=')) return whole(value);
  const out: Record<string, number> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const field = part.slice(0, eq).trim();
    if (eq < 0 || field === '') throw new InvalidArgumentError(expected);
    if (Object.hasOwn(out, field)) throw new InvalidArgumentError(`field '${field}' is given twice`);
    out[field] = whole(part.slice(eq + 1));
  }
  return out;
}

/** A parser accepting only the given words: `oneOf(['error', 'skip'])`. */
export function oneOf<const T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${choices.map((c) => `'${c}'`).join(' or ')}`);
    return value as T;
  };
}

/**
 * A commander option parser from a parser that throws a plain Error (the
 * library's own checks, e.g. a model list or a seed list): its message
 * becomes the usage error, as the parsers above word theirs.
 */
export const optionParser =
  <T>(parse: (value: string) => T) =>
  (value: string): T => {
    try {
      return parse(value);
    } catch (e) {
      throw e instanceof InvalidArgumentError ? e : new InvalidArgumentError((e as Error).message);
    }
  };
