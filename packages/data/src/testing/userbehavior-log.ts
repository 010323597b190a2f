import { writeFile } from 'node:fs/promises';

/**
 * A hand-made log with one funnel of each kind. Times are seconds after T;
 * rows come out ordered by click time.
 */
const T = 1511600000;
export const HAND_LOG: [user: number, item: number, category: number, behavior: string, dt: number][] = [
  [1, 10, 100, 'pv', 0], [1, 10, 100, 'cart', 5], // cart only
  [1, 11, 100, 'pv', 10], [1, 11, 100, 'fav', 15], // fav only
  [2, 10, 100, 'pv', 20], [2, 10, 100, 'fav', 21], [2, 10, 100, 'cart', 21], [2, 10, 100, 'buy', 30], // both, and bought
  [2, 12, 200, 'pv', 40], // neither
  [3, 13, 200, 'pv', 50], [3, 13, 200, 'buy', 60], // bought without cart or fav
  [3, 14, 200, 'cart', 45], [3, 14, 200, 'fav', 46], [3, 14, 200, 'pv', 70], // cart and fav before the click: not DActions
  [4, 15, 300, 'fav', 80], // never viewed: no click, so no fav label either
];
/** (user, item, click, cart, fav, buy) per output row, in output order. */
export const HAND_LABELS = [
  [1, 10, 1, 1, 0, 0],
  [1, 11, 1, 0, 1, 0],
  [2, 10, 1, 1, 1, 1],
  [2, 12, 1, 0, 0, 0],
  [3, 13, 1, 0, 0, 1],
  [3, 14, 1, 0, 0, 0],
  [4, 15, 0, 0, 0, 0],
] as const;

export async function writeHandLog(file: string): Promise<void> {
  await writeFile(file, HAND_LOG.map(([u, i, c, b, dt]) => `${u},${i},${c},${b},${T + dt}`).join('\n') + '\n');
}
