/**
 * model.json must round-trip through JSON unchanged. JSON.stringify silently
 * turns NaN into null, drops undefined array items and flattens Dates and
 * Maps, so a lossy value is rejected up front with the path to it.
 */
export function jsonProblem(value: unknown, path: string): string | undefined {
  return visit(value, path, new Set());
}

function visit(value: unknown, path: string, stack: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path}: ${value} is not representable in JSON`;
    case 'object':
      break;
    default:
      return `${path}: a ${typeof value} is not representable in JSON`;
  }
  if (value === null) return undefined;
  if (stack.has(value)) return `${path}: circular reference`;
  stack.add(value);
  try {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        // An undefined array item would come back as null.
        const p = item === undefined ? `${path}[${i}]: undefined is not representable in JSON` : visit(item, `${path}[${i}]`, stack);
        if (p) return p;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      const hint = value instanceof Date ? ' (store date.toISOString())' : '';
      return `${path}: a ${kind} is not plain JSON${hint}`;
    }
    for (const [k, v] of Object.entries(value)) {
      // Undefined properties are dropped by JSON, which reads back the same as absent: allowed.
      if (v === undefined) continue;
      const p = visit(v, `${path}.${k}`, stack);
      if (p) return p;
    }
    return undefined;
  } finally {
    stack.delete(value);
  }
}
