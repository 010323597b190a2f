import { describe, expect, it } from 'vitest';
import { concatFeeds, scoresToRows, sliceScores } from './feeds.js';

describe('feeds', () => {
  it('stacks requests along the batch axis (multi-valued inputs keep their width) into fresh arrays', () => {
    const a = { ids: { shape: [1, 2], data: Int32Array.of(1, -1) }, x: { shape: [1], data: Float32Array.of(0.5) } };
    const b = { ids: { shape: [2, 2], data: Int32Array.of(2, 3, 4, -1) }, x: { shape: [2], data: Float32Array.of(1, 2) } };
    const out = concatFeeds([a, b]);
    expect(out.ids).toEqual({ shape: [3, 2], data: Int32Array.of(1, -1, 2, 3, 4, -1) });
    expect(out.x).toEqual({ shape: [3], data: Float32Array.of(0.5, 1, 2) });
    expect(out.x!.data.buffer).not.toBe(a.x.data.buffer);
  });

  it('splits scores back per request and renders rows', () => {
    const scores = { pctr: Float32Array.of(0.1, 0.2, 0.3), pcvr: Float32Array.of(0.4, 0.5, 0.6) };
    const tail = sliceScores(scores, 1, 2);
    expect(scoresToRows(tail, ['pctr', 'pcvr'], 2)).toEqual([
      { pctr: Math.fround(0.2), pcvr: Math.fround(0.5) },
      { pctr: Math.fround(0.3), pcvr: Math.fround(0.6) },
    ]);
  });
});
