import { InvalidArgumentError } from 'commander';

/** Flag value parsers with messages that say what was expected. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** `256,128,64` → [256, 128, 64]. */
export function widthList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const widths = parts.map(Number);
  if (parts.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new InvalidArgumentError('expected comma-separated positive layer widths, e.g. 256,128,64');
  }
  return widths;
}
