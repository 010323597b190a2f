import { zodProblems } from '@esm2/core';
import { readIfExists, writeJsonAtomic } from '@esm2/core/node';
import { z } from 'zod';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { COMPARISON_JSON, COMPARISON_MD, exists } from './options.js';
import { LABELS_FILE } from './scores.js';
import type { CompareEntry } from './spec.js';

export const SETTINGS_FILE = 'compare-settings.json';

const settingsShape = z.object({
  common: z.record(z.string(), z.unknown()),
  entries: z.array(z.looseObject({ name: z.string(), model: z.string() })),
  seeds: z.array(z.number().int()),
});
type SettingsFile = { common: Record<string, unknown>; entries: CompareEntry[]; seeds: number[] };

/** What of a comparison `out` holds besides its settings (cells, tables, test labels), in words; empty for none. */
async function comparisonFiles(out: string): Promise<string[]> {
  const runs = await readdir(join(out, 'runs')).catch(() => [] as string[]);
  const files = [COMPARISON_JSON, COMPARISON_MD, LABELS_FILE];
  const present = (await Promise.all(files.map(async (f) => ((await exists(join(out, f))) ? f : undefined)))).filter((f) => f !== undefined);
  return [...(runs.length > 0 ? [`runs/ with ${runs.length} cell(s)`] : []), ...present];
}

/**
 * The saved settings of a comparison being resumed; undefined when `out` holds
 * no comparison yet. A settings file that is missing (beside other compare
 * files), empty or not what recordSettings wrote is refused, naming it:
 * without it the resume could not check the cells were made alike.
 */
async function readSettings(out: string): Promise<SettingsFile | undefined> {
  const path = join(out, SETTINGS_FILE);
  let text: string | undefined;
  try {
    text = await readIfExists(path, 'utf8');
  } catch (e) {
    throw new Error(`--resume: ${path}: ${(e as Error).message}`, { cause: e });
  }
  const refuse = (what: string) =>
    new Error(`--resume: ${path} ${what}; it records how the cells of ${out} were made, so the resume cannot check them. Restore it, or start afresh with another --out`);
  if (text === undefined) {
    const others = await comparisonFiles(out);
    if (others.length === 0) return undefined;
    throw refuse(`is missing, yet the folder holds a comparison (${others.join(', ')})`);
  }
  if (text.trim() === '') throw refuse('is empty');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw refuse(`is not JSON (${(e as Error).message})`);
  }
  const r = settingsShape.safeParse(doc);
  if (!r.success) throw refuse(`is not a compare settings file (${zodProblems(r.error).join('; ')})`);
  return r.data;
}

/**
 * Keeps what defines the cells in `<out>/compare-settings.json`, so a
 * `--resume` cannot mix cells made differently: it must repeat the common
 * settings and every model's definition; it may add models, variants and seeds.
 */
export async function recordSettings(out: string, common: Record<string, unknown>, entries: CompareEntry[], seeds: number[], resume: boolean): Promise<void> {
  const path = join(out, SETTINGS_FILE);
  const saved = resume ? await readSettings(out) : undefined;
  const json = (x: unknown) => JSON.stringify(x);
  if (saved) {
    const changed = Object.keys({ ...saved.common, ...common }).filter((k) => json(saved.common[k] ?? null) !== json(common[k] ?? null));
    if (changed.length > 0) {
      throw new Error(
        `--resume: ${out} was started with other settings (${changed.map((k) => `${k}: was ${json(saved.common[k] ?? null)}, now ${json(common[k] ?? null)}`).join('; ')}); ` +
          'repeat the original flags, or choose another --out',
      );
    }
    for (const e of entries) {
      const before = saved.entries.find((s) => s.name === e.name);
      if (before && json(before) !== json(e)) throw new Error(`--resume: ${out} defined '${e.name}' as ${json(before)}, now ${json(e)}; give the changed variant another name`);
    }
  }
  const merged: SettingsFile = {
    common,
    entries: [...(saved?.entries ?? []), ...entries.filter((e) => !saved?.entries.some((s) => s.name === e.name))],
    seeds: [...new Set([...(saved?.seeds ?? []), ...seeds])],
  };
  await writeJsonAtomic(path, merged, { mkdirs: true });
}

