import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { auc } from './auc.js';
import { gauc } from './gauc.js';


describe('gauc', () => {
  // Rows of four users, interleaved so grouping is actually exercised:
  //   A: scores 0.9 0.8 0.3 0.1, labels 1 0 1 0  -> pos {0.9, 0.3} vs neg {0.8, 0.1}:
  //      0.9>0.8, 0.9>0.1, 0.3<0.8, 0.3>0.1 -> 3/4 = 0.75, weight 4
  //   B: scores 0.5 0.5 0.6, labels 1 0 0        -> pos {0.5} vs neg {0.5, 0.6}:
  //      tie 1/2, loss 0 -> 0.5/2 = 0.25, weight 3
  //   C: labels 0 0 (one class)  -> excluded
  //   D: labels 1   (one class)  -> excluded
  //   GAUC = (4·0.75 + 3·0.25) / (4 + 3) = 3.75 / 7 = 0.5357142857142857
  const user = ['A', 'B', 'C', 'A', 'B', 'D', 'A', 'C', 'B', 'A'];
  const score = [0.9, 0.5, 0.7, 0.8, 0.5, 0.99, 0.3, 0.2, 0.6, 0.1];
  const label = [1, 1, 0, 0, 0, 1, 1, 0, 0, 0];

  it('matches the hand computation, excluding one-class users', () => {
    const r = gauc(score, label, user);
    expect(r.gauc).toBeCloseTo(3.75 / 7, 15);
    expect(r.gauc).toBeCloseTo(0.5357142857142857, 15);
    expect(r.users).toBe(2);
    expect(r.rows).toBe(7);
  });

  it('weights by masked rows and drops users that become one-class under the mask', () => {
    // Masking out A's 0.3 positive leaves A: pos {0.9} vs neg {0.8, 0.1} -> 1, weight 3.
    // Masking out B's positive leaves B one-class -> excluded.
    const mask = [1, 0, 1, 1, 1, 1, 0, 1, 1, 1];
    const r = gauc(score, label, user, mask);
    expect(r).toEqual({ gauc: 1, users: 1, rows: 3 });
  });

  it('treats numeric ids like string ids and distinguishes 1 from "1"', () => {
    const numeric = user.map((u) => u.charCodeAt(0));
    expect(gauc(score, label, numeric).gauc).toBeCloseTo(3.75 / 7, 15);
    expect(gauc([0.9, 0.1], [1, 0], [1, '1']).users).toBe(0);
  });

  it('is NaN when no user has both classes', () => {
    expect(gauc([0.1, 0.2, 0.3], [1, 0, 1], ['x', 'y', 'x'])).toEqual({ gauc: NaN, users: 0, rows: 0 });
  });

  it('equals the weighted mean of per-user AUCs on random data', () => {
    const rand = mulberry32(11);
    const n = 3000;
    const s = new Float64Array(n);
    const y = new Uint8Array(n);
    const u = new Uint32Array(n);
    const m = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      u[i] = Math.floor(rand() * 60);
      y[i] = rand() < 0.25 ? 1 : 0;
      s[i] = Math.round((rand() + 0.3 * y[i]!) * 10) / 10;
      m[i] = rand() < 0.7 ? 1 : 0;
    }
    let num = 0;
    let den = 0;
    let users = 0;
    for (let id = 0; id < 60; id++) {
      const rows = [...u.keys()].filter((i) => u[i] === id && m[i] === 1);
      const a = auc(rows.map((i) => s[i]!), rows.map((i) => y[i]!));
      if (Number.isNaN(a)) continue;
      num += rows.length * a;
      den += rows.length;
      users++;
    }
    const r = gauc(s, y, u, m);
    expect(r.users).toBe(users);
    expect(r.rows).toBe(den);
    expect(r.gauc).toBeCloseTo(num / den, 12);
  });

  it('throws on bad input, naming the index', () => {
    expect(() => gauc([0.1, 0.2], [1, 0], ['a'])).toThrow(/length mismatch/);
    expect(() => gauc([0.1, NaN], [1, 0], ['a', 'a'])).toThrow(/scores\[1\] is NaN/);
    expect(() => gauc([0.1, 0.2], [1, 0], ['a', NaN])).toThrow(/userIds\[1\]/);
  });
});
