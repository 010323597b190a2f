import type { BadRowOptions, BadRowReport } from '../bad-rows.js';
import { parseLabel } from '../encode/values.js';
import { DataError } from '../errors.js';
import { detectFile } from '../read/detect.js';
import { isBlank, readLines } from '../read/lines.js';
import { writeTable, type OutputColumn, type TableWriter } from '../write/table-writer.js';
import { ALICCP_FIELDS, aliccpColumn, FieldBag } from './aliccp-fields.js';
import { importAliccpEncoded } from './aliccp-encoded.js';
import { CommonFeatures } from './aliccp-common.js';
import { LineRejects } from './line-rejects.js';
import { refuseImportPaths } from './paths.js';

export type AliccpVariant = 'lines' | 'skeleton' | 'encoded';

export interface AliccpOptions extends BadRowOptions {
  /** The full release's common_features file, needed for skeleton input. */
  common?: string;
  /** Fields to keep (default: the 23 Ali-CCP fields); others are counted and dropped. */
  fields?: string[];
  onProgress?: (rows: number) => void;
}

export interface AliccpReport extends BadRowReport {
  variant: AliccpVariant;
  rows: number;
  clicks: number;
  buys: number;
  /** Feature occurrences from fields outside `fields`. */
  droppedFeatures: number;
}

/** Which of the three Ali-CCP shapes a file is, from its first line. */
export async function detectAliccp(file: string): Promise<AliccpVariant> {
  const kind = await detectFile(file);
  if (kind.format === 'parquet') return 'encoded';
  for await (const { text } of readLines(file, kind)) {
    if (isBlank(text)) continue;
    if (text.includes('\x01') || text.includes('\x02')) return 'skeleton';
    const parts = text.split(',');
    if (parts.length > 3 && parts[3]!.includes(':')) return 'lines';
    if (parts.includes('click')) return 'encoded';
    break;
  }
  throw new DataError({ file, where: 'line 1' }, 'not a recognised Ali-CCP file (expected sample_id,click,buy,field:id,... lines, the raw skeleton, or a CSV with a click column)');
}

/**
 * Ali-CCP in any of its shapes → one labelled row per impression with
 * `sample_id, click, buy` and one `f<field>` column per field. Ali-CCP has
 * no DAction, so there is no daction column (readers then use zeros).
 */
export async function importAliccp(input: string, output: string, options: AliccpOptions = {}): Promise<AliccpReport> {
  await refuseImportPaths(input, output, options);
  const variant = await detectAliccp(input);
  if (options.common && variant !== 'skeleton') {
    // An unused option is a mistake of the caller (wrong file?), never silently ignored.
    throw new DataError({ file: input }, `this is the ${variant === 'encoded' ? 'encoded CSV' : 'per-line'} Ali-CCP form, which carries its own features; --common (${options.common}) is only for the raw skeleton file`);
  }
  if (variant === 'encoded') return { ...(await importAliccpEncoded(input, output, options)), variant, droppedFeatures: 0 };
  if (variant === 'skeleton' && !options.common) {
    throw new DataError({ file: input }, 'this is the raw Ali-CCP skeleton; pass its common_features file (--common)');
  }
  const fields = options.fields ?? ALICCP_FIELDS;
  const known = new Set(fields);
  const columns: OutputColumn[] = [
    { name: 'sample_id', type: 'VARCHAR' },
    { name: 'click', type: 'TINYINT' },
    { name: 'buy', type: 'TINYINT' },
    ...fields.map((f) => ({ name: aliccpColumn(f), type: 'VARCHAR' as const })),
  ];
  const rejects = new LineRejects(input, options);
  const totals = { rows: 0, clicks: 0, buys: 0, droppedFeatures: 0 };
  const common = variant === 'skeleton' ? await CommonFeatures.load(options.common!) : undefined;
  try {
    await writeTable(output, columns, async (w) => {
      const kind = await detectFile(input);
      let pending: { line: number; text: string }[] = [];
      const flush = async () => {
        if (common) await common.prefetch(pending.map((p) => p.text.split(',', 4)[3] ?? ''));
        for (const p of pending) await writeSample(w, p.line, p.text, { variant, fields, known, rejects, totals, common });
        pending = [];
        options.onProgress?.(totals.rows);
      };
      for await (const l of readLines(input, kind)) {
        if (isBlank(l.text)) continue;
        pending.push(l);
        if (pending.length >= 8192) await flush();
      }
      await flush();
      if (totals.rows === 0 && rejects.policy === 'error') throw new DataError({ file: input }, 'empty file (no data rows)');
    });
  } finally {
    common?.close();
  }
  return { variant, ...totals, ...(await rejects.finish()) };
}

interface SampleContext {
  variant: AliccpVariant;
  fields: string[];
  known: Set<string>;
  rejects: LineRejects;
  totals: { rows: number; clicks: number; buys: number; droppedFeatures: number };
  common?: CommonFeatures;
}

async function writeSample(w: TableWriter, line: number, text: string, ctx: SampleContext): Promise<void> {
  const parts = ctx.variant === 'skeleton' ? splitN(text, ',', 6) : text.split(',');
  if (parts.length < 3) return ctx.rejects.reject(line, 'click', `expected sample_id,click,buy,... but found ${parts.length} column(s)`, text);
  const [sampleId, clickCell, buyCell] = parts as [string, string, string];
  const click = parseLabel(clickCell);
  if (typeof click === 'string') return ctx.rejects.reject(line, 'click', click, text);
  const buy = parseLabel(buyCell);
  if (typeof buy === 'string') return ctx.rejects.reject(line, 'buy', buy, text);
  if (buy === 1 && click === 0) return ctx.rejects.reject(line, 'buy', 'buy=1 but click=0', text);
  const bag = new FieldBag(ctx.known);
  if (ctx.variant === 'lines') {
    for (let k = 3; k < parts.length; k++) {
      const token = parts[k]!;
      const colon = token.indexOf(':');
      if (colon <= 0 || colon === token.length - 1) return ctx.rejects.reject(line, `column ${k + 1}`, `expected field:feature_id, got '${token}'`, text);
      bag.add(token.slice(0, colon), token.slice(colon + 1));
    }
  } else {
    if (parts.length < 6) return ctx.rejects.reject(line, 'feature_list', `expected 6 columns (sample_id,click,buy,common_feature_index,feature_num,feature_list), found ${parts.length}`, text);
    const bad = addRawFeatures(bag, parts[5]!);
    if (bad !== undefined) return ctx.rejects.reject(line, 'feature_list', bad, text);
    const commonFeatures = ctx.common!.get(parts[3]!);
    if (commonFeatures === undefined) return ctx.rejects.reject(line, 'common_feature_index', `'${parts[3]}' is not in the common features file`, text);
    const badCommon = addRawFeatures(bag, commonFeatures);
    if (badCommon !== undefined) return ctx.rejects.reject(line, 'common_feature_index', `common features of '${parts[3]}': ${badCommon}`, text);
  }
  ctx.totals.rows++;
  ctx.totals.clicks += click;
  ctx.totals.buys += buy;
  ctx.totals.droppedFeatures += bag.unknown;
  await w.writeRow([sampleId, click, buy, ...bag.cells(ctx.fields)]);
}

/** The raw release's feature list: `field\x02feature_id\x03value` items joined by `\x01` (values are dropped). */
export function addRawFeatures(bag: FieldBag, list: string): string | undefined {
  if (list === '') return undefined;
  for (const item of list.split('\x01')) {
    const a = item.indexOf('\x02');
    const b = item.indexOf('\x03', a + 1);
    if (a <= 0 || b <= a + 1) return `malformed feature '${item.replaceAll('\x01', '?').replaceAll('\x02', '?').replaceAll('\x03', '?')}' (expected field\\x02id\\x03value)`;
    bag.add(item.slice(0, a), item.slice(a + 1, b));
  }
  return undefined;
}

/** Splits into at most `n` parts: the last (the feature list) keeps any separators. */
function splitN(text: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (out.length < n - 1) {
    const i = text.indexOf(sep, start);
    if (i < 0) break;
    out.push(text.slice(start, i));
    start = i + 1;
  }
  out.push(text.slice(start));
  return out;
}
