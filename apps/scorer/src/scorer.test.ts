import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel } from './model.js';
import { Scorer } from './scorer.js';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
let rows: Record<string, unknown>[];
beforeAll(async () => {
  fixture = await makeFixture(3000);
  rows = requestRows(csvRows(fixture.csv));
});
afterAll(() => fixture.cleanup());

describe('Scorer (raw rows from code)', () => {
  it('scores rows from an artifact and from its ONNX export alike, as the service reference does', async () => {
    const some = rows.slice(0, 200);
    const reference = await LocalScorer.create(await loadScoringModel(fixture.onnx));
    const expected = await reference.scoreRows(await loadScoringModel(fixture.onnx), some);
    await reference.close();
    for (const path of [fixture.onnx, fixture.artifact, fixture.run]) {
      const scorer = await Scorer.load(path);
      try {
        expect(scorer.predictions).toEqual(['pctr', 'pctavr', 'pcvr', 'pctcvr']);
        const got = await scorer.score(some);
        expect(got).toHaveLength(some.length);
        got.forEach((p, i) => {
          for (const k of scorer.predictions) expect(p[k]).toBeCloseTo(expected[i]![k]!, 6);
        });
      } finally {
        await scorer.close();
      }
    }
  });

  it('keeps row order across its internal chunks, and returns [] for no rows', async () => {
    const scorer = await Scorer.load(fixture.onnx);
    try {
      // 6000 rows span two chunks; the second half is the first half reversed.
      const many = [...rows, ...[...rows].reverse()];
      const got = await scorer.score(many);
      expect(got).toHaveLength(many.length);
      for (let i = 0; i < rows.length; i++) expect(got[many.length - 1 - i]).toEqual(got[i]);
      expect(new Set(got.map((p) => p.pctcvr)).size).toBeGreaterThan(100);
      expect(await scorer.score([])).toEqual([]);
    } finally {
      await scorer.close();
    }
  });

  it('refuses a misspelt field, naming it, and a missing model path, naming it', async () => {
    const scorer = await Scorer.load(fixture.onnx);
    try {
      const { user_id, ...rest } = rows[0]!;
      await expect(scorer.score([{ ...rest, usr_id: user_id }])).rejects.toThrow(/usr_id/);
      expect(scorer.fields).toContain('user_id');
    } finally {
      await scorer.close();
    }
    await expect(Scorer.load(`${fixture.dir}/nope.onnx`)).rejects.toThrow(/nope\.onnx/);
  });
});
