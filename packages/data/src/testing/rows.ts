import type { Batch } from '../batch.js';

/** Every row of `batches` as a comparable string: features, labels and truth (pctr, pctcvr); user numbers are left out (they depend on the order rows are met in). */
export function rowsOf(batches: Batch[]): string[] {
  const rows: string[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.size; i++) {
      const parts = Object.entries(b.features).map(([k, a]) => {
        const w = a.length / b.size;
        return `${k}=${Array.from(a.subarray(i * w, (i + 1) * w)).join(',')}`;
      });
      parts.push(`c${b.labels.click[i]}a${b.labels.daction[i]}b${b.labels.buy[i]}t${b.truth?.pctr?.[i]},${b.truth?.pctcvr?.[i]}`);
      rows.push(parts.join(' '));
    }
  }
  return rows;
}
