// Writes a generated parquet file's nine categorical ids and click label as
// space-separated integers, one row per line, for fm.py (Debian's python3
// has numpy but no parquet reader):
//   node scripts/ceiling/export.mjs gen/train.parquet gen/train.txt
// DuckDB is resolved from @esm2/data, which depends on it.
import { createRequire } from 'node:module';
import { rename } from 'node:fs/promises';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/ceiling/export.mjs IN.parquet OUT.txt');
  process.exit(2);
}
const require = createRequire(new URL('../../packages/data/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
const cols = 'user_id,item_id,category_id,shop_id,brand_id,user_gender,user_age,user_city,hour,click';
const partial = `${output}.partial`;
await c.run(`COPY (SELECT ${cols} FROM read_parquet(${quote(input)})) TO ${quote(partial)} (HEADER false, DELIMITER ' ')`);
await rename(partial, output);
console.log(`wrote ${output}`);
