import { MODEL_NAMES, zodProblems, type ModelConfig } from '@esm2/core';
import { readInputFile } from '@esm2/core/node';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { fitConfigSchema, flagOf, pickDefined, SETTING_FLAG_NAMES, SETTING_FLAGS, type FitSettings, type SettingFlags } from './settings.js';

/**
 * The fit config file (`--config cfg.yaml`, YAML or JSON): the settings
 * schema's sections (train/settings.ts), every key optional; flags override
 * it. Unknown keys anywhere (a misspelt `embedingDim`) are errors naming the
 * key's path and the file. A commented example with every key is
 * apps/trainer/examples/fit-config.yaml.
 *
 *   model:     { model: esm2, towers: [256, 128, 64], embeddingDim: 16, lossWeights: {…}, … }
 *   optimizer: { lr: 0.001, beta1, beta2, eps, embeddingOptimizer: adam|adagrad, embeddingLr, embeddingL2, clipNorm }
 *   data:      { numeric: [price], multi: [tags], hash: {…}, … }   (the data layer's config)
 *   train:     { epochs, batchSize, seed, shuffleBuffer, selectBy: logloss, earlyStop: ctcvr_auc, patience, backend }
 */
export type FitConfigFile = z.input<typeof fitConfigSchema>;

/** Flags as the fit command parsed them (and `fit()`'s options of the same names); undefined = not given. */
export interface FitFlags extends SettingFlags {
  data?: string;
  /** Validation data, evaluated after every epoch; picks the best epoch. */
  valid?: string;
  /**
   * The label columns whose OR is DAction (`--daction cart`, `--daction cart,fav`),
   * overriding the config's data.labels.daction. Default: the data config's, else
   * inferred from the file (imported UserBehavior: cart OR fav). Saved with the
   * run's encoders, so eval and scoring read the same DAction; a resume may not change it.
   */
  daction?: string[];
}

/** Checks a parsed fit config (from a file or from code); problems name each key by its path. */
export function parseFitConfig(doc: unknown, source: string): FitConfigFile {
  if (doc === null || doc === undefined) return {};
  const r = fitConfigSchema.safeParse(doc);
  if (r.success) return doc; // as written: defaults are applied once flags are merged in
  const problems = typeof doc !== 'object' || Array.isArray(doc) ? [`expected a mapping with sections ${Object.keys(fitConfigSchema.shape).join(', ')}`] : zodProblems(r.error);
  throw new Error(`${source}: ${problems.join('; ')} (see apps/trainer/examples/fit-config.yaml for every key)`);
}

export async function loadFitConfig(path: string): Promise<FitConfigFile> {
  const text = await readInputFile(path);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  return parseFitConfig(doc, path);
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/** Problems of the settings after the flags were laid over the config: a value a flag gave is named by the flag, one from the config by its key. */
function settingProblems(error: z.ZodError, given: SettingFlags): string[] {
  return error.issues.map((issue) => {
    const [section, key, ...rest] = issue.path.map(String);
    const byFlag = key !== undefined && key in given && SETTING_FLAGS[key as keyof SettingFlags] === section;
    return byFlag ? `${flagOf(key)}${rest.length > 0 ? ` (${rest.join('.')})` : ''}: ${issue.message}` : `fit config: ${issue.path.join('.')}: ${issue.message}`;
  });
}

/** Flags over config over the schema's defaults, checked once by the settings schema; errors name the flag or key at fault. */
export function resolveFitSettings(flags: FitFlags, config: FitConfigFile, defaults: { backend: string }): FitSettings {
  const cfg = parseFitConfig(config, 'fit config');
  if (!flags.data) throw new Error('--data <file> is required');
  if ((flags.model ?? cfg.model?.model) === undefined) throw new Error(`--model is required (one of ${MODEL_NAMES.join(', ')})`);
  const given = pickDefined(flags, SETTING_FLAG_NAMES);
  const sections: { [S in 'model' | 'optimizer' | 'train']: Record<string, unknown> } = { model: { ...cfg.model }, optimizer: { ...cfg.optimizer }, train: { ...cfg.train } };
  for (const [key, value] of Object.entries(given)) sections[SETTING_FLAGS[key as keyof SettingFlags]][key] = value;
  const parsed = fitConfigSchema.safeParse(sections);
  if (!parsed.success) throw new Error(settingProblems(parsed.error, given).join('; '));
  const { model, optimizer, train: t } = parsed.data;
  mustLearn(model, flags.lossWeights !== undefined ? '--loss-weights' : 'model.lossWeights');
  const metric = t.earlyStop;
  const selectBy = flags.selectBy ?? cfg.train?.selectBy;
  if (metric !== undefined && selectBy !== undefined && metric !== selectBy) {
    throw new Error(`--select-by ${selectBy} and --early-stop ${metric} disagree: early stopping picks the best epoch by its own metric (give one of them)`);
  }
  if (metric !== undefined && !flags.valid) throw new Error(`--early-stop ${metric} needs validation data: pass --valid <file>`);
  let data = cfg.data;
  if (flags.daction) {
    const d = flags.daction;
    check(d.length > 0 && d.every((c) => c.trim() !== ''), '--daction needs one or more column names, e.g. cart or cart,fav');
    check(new Set(d).size === d.length, `--daction names a column twice: ${d.join(',')}`);
    data = { ...cfg.data, labels: { ...cfg.data?.labels, daction: d } };
  }
  return {
    train: flags.data,
    ...(flags.valid ? { valid: flags.valid } : {}),
    model,
    optimizer,
    ...(data ? { data } : {}),
    epochs: t.epochs,
    batchSize: t.batchSize,
    seed: t.seed,
    shuffleBuffer: t.shuffleBuffer,
    ...(metric !== undefined ? { earlyStop: { metric, patience: t.patience } } : {}),
    selectBy: metric ?? t.selectBy,
    backend: t.backend ?? defaults.backend,
  };
}

/** The weights the model's loss uses (ESMM has no CTAVR loss; the DNNs none of these): all zero, nothing would be learnt. */
function mustLearn(model: ModelConfig, source: string): void {
  const w = model.lossWeights;
  const used = model.model === 'esm2' ? { ctr: w.ctr, ctavr: w.ctavr, ctcvr: w.ctcvr } : model.model === 'esmm' ? { ctr: w.ctr, ctcvr: w.ctcvr } : undefined;
  if (used && Object.values(used).every((x) => x === 0)) {
    throw new Error(`${source}: ${Object.entries(used).map(([k, v]) => `${k} ${v}`).join(', ')}: ${model.model} would learn nothing; at least one loss weight must be > 0`);
  }
}
