import { MODEL_NAMES, SEED_MAX, seedProblem } from '@esm2/core';

/** The models `compare` can train: the zoo's deep models and the GBDT baseline (XGBoost). */
export const COMPARE_MODELS = [...MODEL_NAMES, 'gbdt'] as const;

export type LossWeights = { ctr: number; ctavr: number; ctcvr: number };

/**
 * One named model of a comparison: a plain model (`esm2`, `dnn`, `gbdt`…) or
 * an ESM2 variant with changed settings (`--variants`).
 */
export interface CompareEntry {
  /** Its name in the outputs and its run directories (`runs/<name>-seed<k>`). */
  name: string;
  model: string;
  /** Only for variants: what they change from the comparison's common settings. */
  lossWeights?: LossWeights;
  daction?: string[];
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/i;
/** Longest model or variant name: with `-seed<k>` it names a run directory, which file systems cap at 255 bytes. */
export const MAX_ENTRY_NAME = 64;

/** Refuses a name that cannot name a cell's run directory: letters, digits, '-' and '_', at most MAX_ENTRY_NAME characters. */
export function checkEntryName(name: string): void {
  if (!NAME.test(name)) throw new Error(`the name '${name}' must be letters, digits, '-' or '_'`);
  if (name.length > MAX_ENTRY_NAME) throw new Error(`the name '${name.slice(0, 20)}…' is ${name.length} characters long; at most ${MAX_ENTRY_NAME} (it names the run directories)`);
}

/** `1,0,1` → { ctr: 1, ctavr: 0, ctcvr: 1 }; `what` names the flag in errors. */
export function parseLossWeights(value: string, what: string): LossWeights {
  const parts = value.split(',').map((s) => s.trim());
  const w = parts.map(Number);
  if (parts.length !== 3 || parts.some((p) => p === '') || w.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new Error(`${what}: '${value}' is not three comma-separated weights ≥ 0 for ctr,ctavr,ctcvr, e.g. 1,0,1`);
  }
  return { ctr: w[0]!, ctavr: w[1]!, ctcvr: w[2]! };
}

/** `esm2,esmm,dnn,dnn-os,gbdt` → entries; unknown or repeated names are refused. */
export function parseModels(value: string): CompareEntry[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new Error(`--models '${value}': an empty name; expected e.g. esm2,esmm,dnn,dnn-os,gbdt`);
  for (const n of names) {
    if (!(COMPARE_MODELS as readonly string[]).includes(n)) throw new Error(`--models: '${n}' is not a model (choose from ${COMPARE_MODELS.join(', ')})`);
  }
  if (new Set(names).size !== names.length) throw new Error(`--models '${value}' names a model twice`);
  return names.map((n) => ({ name: n, model: n }));
}

/** `1,2,3` → [1, 2, 3]: distinct seeds (whole numbers in 0…SEED_MAX). */
export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new Error(`--seeds '${value}': expected comma-separated seeds in 0…${SEED_MAX}, e.g. 1,2,3`);
  return checkSeeds(parts.map(Number), '--seeds', parts);
}

/**
 * The seeds of a comparison: at least one, each a seed (0…SEED_MAX: the
 * generators keep 32 bits, so 1 and 2^32 + 1 would be the same run and their
 * "difference" a fake zero), none twice. `shown` is how each was written.
 */
export function checkSeeds(seeds: readonly number[], what: string, shown: readonly string[] = seeds.map(String)): number[] {
  if (seeds.length === 0) throw new Error(`${what}: no seed`);
  seeds.forEach((s, i) => {
    const problem = seedProblem(s);
    if (problem !== undefined) throw new Error(`${what}: '${shown[i]}': ${problem}`);
  });
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined) throw new Error(`${what}: seed ${twice} is given twice`);
  return [...seeds];
}

/**
 * `--variants`: ESM2 with changed settings, each a named model of the comparison.
 *
 *   SPEC     = VARIANT (';' VARIANT)*
 *   VARIANT  = NAME ':' SETTING (' ' SETTING)*
 *   SETTING  = 'loss-weights=' ctr,ctavr,ctcvr   (ESM2's three loss weights)
 *            | 'daction=' column[,column…]      (the label columns whose OR is DAction)
 *
 * e.g. `no-ctavr:loss-weights=1,0,1; fav:daction=fav; cart-only:daction=cart loss-weights=1,0.5,1`.
 * NAME: letters, digits, '-' and '_', not a model name and not repeated.
 */
export function parseVariants(spec: string): CompareEntry[] {
  const out: CompareEntry[] = [];
  for (const raw of spec.split(';')) {
    const text = raw.trim();
    if (text === '') continue;
    const colon = text.indexOf(':');
    const where = `--variants '${text}'`;
    if (colon < 0) throw new Error(`${where}: expected NAME:SETTING, e.g. no-ctavr:loss-weights=1,0,1`);
    const name = text.slice(0, colon).trim();
    try {
      checkEntryName(name);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    if ((COMPARE_MODELS as readonly string[]).includes(name)) throw new Error(`${where}: '${name}' is a model name; give the variant another name`);
    if (out.some((v) => v.name === name)) throw new Error(`--variants: '${name}' is defined twice`);
    const entry: CompareEntry = { name, model: 'esm2' };
    const settings = text.slice(colon + 1).trim().split(/\s+/).filter((s) => s !== '');
    if (settings.length === 0) throw new Error(`${where}: no setting; expected loss-weights=… or daction=…`);
    const seen = new Set<string>();
    for (const s of settings) {
      const eq = s.indexOf('=');
      const key = eq < 0 ? s : s.slice(0, eq);
      const value = eq < 0 ? '' : s.slice(eq + 1);
      if (seen.has(key)) throw new Error(`${where}: ${key} is given twice`);
      seen.add(key);
      if (key === 'loss-weights') {
        entry.lossWeights = parseLossWeights(value, `${where}: loss-weights`);
      } else if (key === 'daction') {
        const cols = value.split(',').map((c) => c.trim());
        if (cols.some((c) => c === '')) throw new Error(`${where}: daction needs one or more column names, e.g. daction=fav or daction=cart,fav`);
        if (new Set(cols).size !== cols.length) throw new Error(`${where}: daction names a column twice`);
        entry.daction = cols;
      } else {
        throw new Error(`${where}: unknown setting '${key}' (known: loss-weights, daction)`);
      }
    }
    out.push(entry);
  }
  if (out.length === 0) throw new Error(`--variants '${spec}': no variant`);
  return out;
}

/** The run directory name of a cell. */
export const cellName = (entry: string, seed: number) => `${entry}-seed${seed}`;
