import type { DuckDBConnection } from '@duckdb/node-api';
import { DataError } from '../errors.js';
import { connect, sqlString } from '../read/duckdb.js';
import { detectFile } from '../read/detect.js';
import { firstLine } from '../read/table.js';

let loads = 0;
const CACHE_LIMIT = 200_000;

/**
 * The raw release's common features (per user/context, shared by many
 * samples), keyed by common_feature_index. The file is gigabytes, so it
 * lives in a DuckDB table (which spills to disk) and is looked up a block
 * of skeleton lines at a time; consecutive samples mostly share an index,
 * so a cache catches most lookups.
 */
export class CommonFeatures {
  private cache = new Map<string, string | null>();
  private constructor(
    private readonly con: DuckDBConnection,
    private readonly table: string,
  ) {}

  static async load(file: string): Promise<CommonFeatures> {
    const kind = await detectFile(file);
    const con = await connect();
    const table = `common_features_${++loads}`;
    try {
      await con.run(
        `CREATE TEMP TABLE ${table} AS SELECT cid, feats FROM read_csv(${sqlString(file)}, header=false, delim=',', quote='', escape='', ` +
          `auto_detect=false, null_padding=true, compression=${sqlString(kind.compression)}, columns={'cid': 'VARCHAR', 'n': 'VARCHAR', 'feats': 'VARCHAR'})`,
      );
    } catch (err) {
      con.closeSync();
      throw new DataError({ file }, firstLine(err));
    }
    return new CommonFeatures(con, table);
  }

  /** Fetches every id of the next block that is not cached yet, in one query. */
  async prefetch(ids: string[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => id !== '' && !this.cache.has(id));
    if (missing.length === 0) return;
    if (this.cache.size + missing.length > CACHE_LIMIT) this.cache.clear();
    const list = missing.map(sqlString).join(', ');
    const r = await this.con.runAndReadAll(`SELECT cid, feats FROM ${this.table} WHERE cid IN (${list})`);
    for (const id of missing) this.cache.set(id, null);
    for (const [cid, feats] of r.getRows()) this.cache.set(String(cid), feats === null ? '' : String(feats));
  }

  /** The features for an id (after `prefetch`); undefined when the file has no such id. */
  get(id: string): string | undefined {
    return this.cache.get(id) ?? undefined;
  }

  close(): void {
    this.con.closeSync();
  }
}
