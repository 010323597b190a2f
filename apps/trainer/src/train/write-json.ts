/** A JSON-representable copy: NaN and ±Infinity (undefined metrics) become null, as JSON.stringify writes them. */
export function jsonSafe<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
