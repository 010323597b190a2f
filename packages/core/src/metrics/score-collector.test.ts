import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../random.js';
import { evaluateEsm2 } from './evaluate-esm2.js';
import { ScoreCollector } from './score-collector.js';


function dataset(seed: number, n: number) {
  const rand = mulberry32(seed);
  const pctr = new Float32Array(n);
  const pcvr = new Float32Array(n);
  const pctcvr = new Float32Array(n);
  const truthPcvr = new Float64Array(n);
  const click = new Uint8Array(n);
  const daction = new Uint8Array(n);
  const buy = new Uint8Array(n);
  const userId: string[] = [];
  for (let i = 0; i < n; i++) {
    const ctr = rand() * 0.5;
    const cvr = rand() * 0.5;
    click[i] = rand() < ctr ? 1 : 0;
    daction[i] = click[i] && rand() < 0.4 ? 1 : 0;
    buy[i] = click[i] && rand() < cvr ? 1 : 0;
    // Rounded predictions: ties across batch boundaries must be handled globally.
    pctr[i] = Math.round(ctr * 20) / 20;
    pcvr[i] = Math.round(cvr * 20) / 20;
    pctcvr[i] = pctr[i]! * pcvr[i]!;
    truthPcvr[i] = cvr;
    userId.push(`user-${Math.floor(rand() * 25)}`);
  }
  return { pctr, pcvr, pctcvr, truthPcvr, click, daction, buy, userId };
}

describe('ScoreCollector', () => {
  it('gives the same metrics over several batches as over one batch', () => {
    const d = dataset(9, 2000);
    const whole = evaluateEsm2({
      pctr: d.pctr,
      pcvr: d.pcvr,
      pctcvr: d.pctcvr,
      click: d.click,
      daction: d.daction,
      buy: d.buy,
      userId: d.userId,
      truth: { pcvr: d.truthPcvr },
    });

    const collector = new ScoreCollector(4); // tiny, so growth happens many times
    let at = 0;
    for (const size of [1, 0, 37, 400, 700, 862]) {
      const s = (a: { subarray(b: number, e: number): unknown } & ArrayLike<number>) =>
        a.subarray(at, at + size) as ArrayLike<number>;
      collector.add({
        predictions: { pctr: s(d.pctr), pcvr: s(d.pcvr), pctcvr: s(d.pctcvr), extra: s(d.pctr) },
        click: s(d.click),
        daction: s(d.daction),
        buy: s(d.buy),
        userId: d.userId.slice(at, at + size),
        truth: { pcvr: s(d.truthPcvr) },
      });
      at += size;
    }
    expect(at).toBe(2000);
    expect(collector.length).toBe(2000);
    expect(collector.evaluate()).toEqual(whole);
    expect(whole.cvr_gauc).toBeGreaterThan(0);
    expect(whole.oracle?.cvr_auc).toBeGreaterThan(0);
    expect(collector.predictionNames().sort()).toEqual(['extra', 'pctcvr', 'pctr', 'pcvr']);
    expect([...collector.prediction('pcvr')!]).toEqual([...d.pcvr]);
  });

  it('interns user ids to codes: equal ids, equal codes', () => {
    const c = new ScoreCollector();
    c.add({ predictions: {}, click: [0, 0], daction: [0, 0], buy: [0, 0], userId: ['a', 'b'] });
    c.add({ predictions: {}, click: [0, 0], daction: [0, 0], buy: [0, 0], userId: ['b', 7] });
    expect([...c.userCodes()!]).toEqual([0, 1, 1, 2]);
  });

  it('rejects batches whose columns differ from the first, leaving the collector unchanged', () => {
    const c = new ScoreCollector();
    c.add({ predictions: { pcvr: [0.1] }, click: [1], daction: [0], buy: [0] });
    expect(() => c.add({ predictions: { pctr: [0.1] }, click: [1], daction: [0], buy: [0] })).toThrow(
      /predictions columns \[pctr\] differ from the first batch's \[pcvr\]/,
    );
    expect(() =>
      c.add({ predictions: { pcvr: [0.1] }, click: [1], daction: [0], buy: [0], userId: ['x'] }),
    ).toThrow(/userId must be given in every batch or in none/);
    expect(() => c.add({ predictions: { pcvr: [0.1, 0.2] }, click: [1, 1], daction: [0, 0], buy: [0, 2] })).toThrow(
      /batch starting at row 1.*buy\[1\] = 2/,
    );
    expect(() => c.add({ predictions: { pcvr: [0.1, 0.2] }, click: [1], daction: [0], buy: [0] })).toThrow(
      /length mismatch/,
    );
    expect(c.length).toBe(1);
  });
});
