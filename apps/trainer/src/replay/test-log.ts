import { writeFile } from 'node:fs/promises';

/**
 * A hand-made event log with a day column, for the replay tests: `rows`
 * impressions a day over `days` days. Each day brings new item and user
 * ids (day k's rows draw their ids from the pools of days 0…k, so ids
 * first seen on day k come back later), a category, a price and labels
 * that depend on the item pool and the price, every task with both classes.
 */
export async function writeDayLog(path: string, options: { days: number; rows: number; seed?: number }): Promise<void> {
  let s = (options.seed ?? 1) >>> 0;
  const rand = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const lines = ['day,user_id,item_id,category_id,price,click,daction,buy'];
  for (let day = 0; day < options.days; day++) {
    for (let i = 0; i < options.rows; i++) {
      // Half of each day's rows come from the day's own (new) pool.
      const pool = rand() < 0.5 ? day : Math.floor(rand() * (day + 1));
      const item = `i${pool}-${Math.floor(rand() * 20)}`;
      const user = `u${pool}-${Math.floor(rand() * 30)}`;
      const category = Math.floor(rand() * 5);
      const price = (1 + rand() * 99).toFixed(2);
      const pClick = 0.15 + 0.25 * ((pool + category) % 2);
      const click = rand() < pClick ? 1 : 0;
      const daction = click && rand() < 0.4 ? 1 : 0;
      const buy = click && rand() < (daction ? 0.6 : 0.2) ? 1 : 0;
      lines.push([day, user, item, category, price, click, daction, buy].join(','));
    }
  }
  await writeFile(path, `${lines.join('\n')}\n`);
}
