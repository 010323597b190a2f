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

/** A parser accepting only the given words: `oneOf(['error', 'skip'])`. */
export function oneOf<const T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${choices.map((c) => `'${c}'`).join(' or ')}`);
    return value as T;
  };
}
