import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../dataset/open.js';
import { importUserBehavior } from '../import/userbehavior.js';
import { tempDir } from '../testing/tmp.js';
import { HAND_LABELS, writeHandLog } from '../testing/userbehavior-log.js';
import { fitEncoders } from './fit.js';

const tmp = await tempDir();

/** Every row's (click, DAction, buy) labels, in file order. */
async function labelsOf(file: string, daction: string[] | undefined): Promise<{ fields: string[]; rows: number[][] }> {
  const encoders = await fitEncoders(file, daction === undefined ? {} : { labels: { daction } });
  const rows: number[][] = [];
  for await (const b of openDataset(file, { encoders, batchSize: 3 })) {
    for (let i = 0; i < b.size; i++) rows.push([b.labels.click[i]!, b.labels.daction[i]!, b.labels.buy[i]!]);
  }
  return { fields: encoders.config.fields.map((f) => f.column), rows };
}

describe('the DAction choice on imported UserBehavior data', () => {
  it('daction [cart], [fav], [cart, fav] and the default give a_i = the chosen columns OR-ed, per row', async () => {
    const file = tmp('hand.csv');
    await writeHandLog(tmp('hand.log'));
    await importUserBehavior(tmp('hand.log'), file);
    const click = HAND_LABELS.map((r) => r[2]);
    const cart = HAND_LABELS.map((r) => r[3]);
    const fav = HAND_LABELS.map((r) => r[4]);
    const buy = HAND_LABELS.map((r) => r[5]);
    // Written out so a wrong expectation cannot follow a wrong implementation.
    expect(cart).toEqual([1, 0, 1, 0, 0, 0, 0]);
    expect(fav).toEqual([0, 1, 1, 0, 0, 0, 0]);
    const expected: [string[] | undefined, number[]][] = [
      [['cart'], [1, 0, 1, 0, 0, 0, 0]],
      [['fav'], [0, 1, 1, 0, 0, 0, 0]],
      [['cart', 'fav'], [1, 1, 1, 0, 0, 0, 0]],
      [undefined, [1, 1, 1, 0, 0, 0, 0]], // inferred: cart OR fav
    ];
    for (const [daction, a] of expected) {
      const { fields, rows } = await labelsOf(file, daction);
      expect(rows.map((r) => r[1]), `daction=${String(daction)}`).toEqual(a);
      expect(rows.map((r) => r[0])).toEqual([...click]);
      expect(rows.map((r) => r[2])).toEqual([...buy]);
      // The funnel: a=1 only where c=1.
      expect(rows.every(([c, d]) => d === 0 || c === 1)).toBe(true);
      // The post-click column left out of DAction is not a feature either (it would leak the outcome).
      expect(fields).not.toContain('cart');
      expect(fields).not.toContain('fav');
      expect(fields).toContain('user_log_events');
    }
  });

  it('a chosen DAction column set without a click is bad input naming that column; an unchosen one is not read', async () => {
    const file = tmp('broken-funnel.csv');
    await writeFile(file, 'user_id,click,cart,fav,buy\nu1,1,1,0,0\nu2,0,0,1,0\n');
    await expect(labelsOf(file, ['fav'])).rejects.toThrow(`${file}, line 3, column 'fav': daction=1 but click=0`);
    await expect(labelsOf(file, ['cart', 'fav'])).rejects.toThrow(`${file}, line 3, column 'fav': daction=1 but click=0`);
    expect((await labelsOf(file, ['cart'])).rows).toEqual([
      [1, 1, 0],
      [0, 0, 0],
    ]);
  });

  it('a DAction column the file lacks is an error naming the file, the column and the columns it has', async () => {
    const file = tmp('no-wish.csv');
    await writeFile(file, 'user_id,click,cart,fav,buy\nu1,1,1,0,0\n');
    await expect(fitEncoders(file, { labels: { daction: ['cart', 'wish'] } })).rejects.toThrow(
      `${file}, line 1 (header), column 'wish': missing column (the file has user_id, click, cart, fav, buy)`,
    );
  });
});
