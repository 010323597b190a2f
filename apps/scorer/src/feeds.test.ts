import { describe, expect, it } from 'vitest';
import { concatFeeds, numbersJson, scoreRowsJson, scoresToRows, sliceScores } from './feeds.js';

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

  it('writes scores as JSON byte for byte as JSON.stringify does, on float32s of every kind', () => {
    // Every exponent of float32 (denormals included) with random mantissas, the special values, and round numbers.
    const bits = new Uint32Array(20_000);
    let seed = 7;
    for (let i = 0; i < bits.length; i++) {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      bits[i] = ((i % 256) << 23) | (seed >>> 9) | (i % 3 === 0 ? 0x8000_0000 : 0);
    }
    const floats = new Float32Array(bits.buffer);
    const special = Float32Array.of(0, -0, 1, -1, 0.5, 1e-7, 0.1, 1.4e-45, 1.1754942e-38, 3.4028235e38, NaN, Infinity, -Infinity, 123456789);
    for (const values of [floats, special, new Float32Array(0)]) {
      expect(numbersJson(values)).toBe(JSON.stringify(Array.from(values)));
      const scores = { pctr: values, pctavr: values.slice().reverse(), pcvr: values.map((x) => x / 3), pctcvr: values.map((x) => x * 7) };
      const names = ['pctr', 'pctavr', 'pcvr', 'pctcvr'];
      expect(scoreRowsJson(scores, names, values.length)).toBe(JSON.stringify(scoresToRows(scores, names, values.length)));
      if (values.length > 4) expect(scoreRowsJson(scores, ['pcvr', 'pctr'], 3, 1)).toBe(JSON.stringify(scoresToRows(sliceScores(scores, 1, 3), ['pcvr', 'pctr'], 3)));
    }
  });
});
