import { aucOfSorted } from './mann-whitney.js';
import { checkSameLength, isIncluded, readLabel, readScore, type NumericArray } from './validate.js';

export interface GaucResult {
  /** Impression-weighted mean of per-user AUC; NaN when no user has both classes. */
  gauc: number;
  /** Users that had both classes among their selected rows. */
  users: number;
  /** Selected rows belonging to those users (the total weight). */
  rows: number;
}

const EXCLUDED = 0xffffffff;

/**
 * Group AUC: per-user AUC weighted by the user's selected-row count, over users
 * with both classes (a one-class user has no defined AUC and would otherwise
 * dilute the average with a made-up 0.5). User ids are compared by
 * SameValueZero, so 7 and "7" are different users.
 */
export function gauc(
  scores: NumericArray,
  labels: NumericArray,
  userIds: ArrayLike<number | string>,
  mask?: NumericArray,
): GaucResult {
  const n = checkSameLength('gauc', { scores, labels, userIds, mask });

  // Intern ids to dense codes: per-user bookkeeping lives in plain arrays, and
  // per-row state in one Uint32Array.
  const codeOf = new Map<number | string, number>();
  const rowCode = new Uint32Array(n);
  const rowsOf: number[] = [];
  const posOf: number[] = [];
  let selected = 0;
  for (let i = 0; i < n; i++) {
    if (!isIncluded('gauc', mask, i)) {
      rowCode[i] = EXCLUDED;
      continue;
    }
    readScore('gauc', 'scores', scores, i);
    const y = readLabel('gauc', 'labels', labels, i);
    const id = userIds[i];
    if (id === undefined || (typeof id === 'number' && Number.isNaN(id))) {
      throw new Error(`gauc: userIds[${i}] is ${String(id)}, expected a user id`);
    }
    let code = codeOf.get(id);
    if (code === undefined) {
      code = rowsOf.length;
      codeOf.set(id, code);
      rowsOf.push(0);
      posOf.push(0);
    }
    rowCode[i] = code;
    rowsOf[code]!++;
    posOf[code]! += y;
    selected++;
  }

  // Counting sort of selected rows by user, so each user's rows are contiguous.
  const nUsers = rowsOf.length;
  const start = new Uint32Array(nUsers + 1);
  let maxPos = 0;
  let maxNeg = 0;
  for (let u = 0; u < nUsers; u++) {
    const r = rowsOf[u]!;
    const p = posOf[u]!;
    start[u + 1] = start[u]! + r;
    if (p > maxPos) maxPos = p;
    if (r - p > maxNeg) maxNeg = r - p;
  }
  const order = new Uint32Array(selected);
  const fill = start.slice(0, nUsers);
  for (let i = 0; i < n; i++) {
    const code = rowCode[i]!;
    if (code !== EXCLUDED) order[fill[code]!++] = i;
  }

  const posBuf = new Float64Array(maxPos);
  const negBuf = new Float64Array(maxNeg);
  let weighted = 0;
  let users = 0;
  let rows = 0;
  for (let u = 0; u < nUsers; u++) {
    const r = rowsOf[u]!;
    const nPos = posOf[u]!;
    if (nPos === 0 || nPos === r) continue;
    let p = 0;
    let q = 0;
    for (let j = start[u]!; j < start[u + 1]!; j++) {
      const i = order[j]!;
      if (labels[i] === 1) posBuf[p++] = scores[i]!;
      else negBuf[q++] = scores[i]!;
    }
    const a = aucOfSorted(posBuf.subarray(0, p).sort(), negBuf.subarray(0, q).sort());
    weighted += r * a;
    users++;
    rows += r;
  }
  return { gauc: users === 0 ? NaN : weighted / rows, users, rows };
}
