import { DEFAULT_OPTIMIZER, MODEL_NAMES, parseModelConfig, type ModelConfigInput, type OptimizerConfig } from '@esm2/core';
import { parseDataConfig, type DataConfigInput } from '@esm2/data';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { metricKey } from './metric-key.js';
import type { FitSettings } from './settings.js';

/**
 * The fit config file (`--config cfg.yaml`, YAML or JSON). Every section is
 * optional; flags override it:
 *
 *   model:     { model: esm2, towers: [256, 128, 64], embeddingDim: 16, lossWeights: {…}, … }
 *   optimizer: { lr: 0.001, beta1, beta2, eps, embeddingOptimizer: adam|adagrad, embeddingL2, clipNorm }
 *   data:      { numeric: [price], multi: [tags], hash: {…}, … }   (the data layer's config)
 *   train:     { epochs, batchSize, seed, shuffleBuffer, earlyStop: ctcvr_auc, patience, backend }
 */
export interface FitConfigFile {
  model?: ModelConfigInput;
  optimizer?: Partial<OptimizerConfig>;
  data?: DataConfigInput;
  train?: Partial<{ epochs: number; batchSize: number; seed: number; shuffleBuffer: number; earlyStop: string; patience: number; backend: string }>;
}

/** Flags as the fit command parsed them; undefined = not given. */
export interface FitFlags {
  data?: string;
  valid?: string;
  model?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  towers?: number[];
  embeddingDim?: number;
  backend?: string;
  earlyStop?: string;
  patience?: number;
  shuffleBuffer?: number;
}

const SECTIONS = ['model', 'optimizer', 'data', 'train'];
const TRAIN_KEYS = ['epochs', 'batchSize', 'seed', 'shuffleBuffer', 'earlyStop', 'patience', 'backend'];
const OPTIMIZER_KEYS = Object.keys(DEFAULT_OPTIMIZER);

export async function loadFitConfig(path: string): Promise<FitConfigFile> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid YAML/JSON: ${(e as Error).message}`}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${path}: expected a mapping with sections ${SECTIONS.join(', ')}`);
  const unknown = (obj: object, allowed: string[], where: string) => {
    const bad = Object.keys(obj).filter((k) => !allowed.includes(k));
    if (bad.length > 0) throw new Error(`${path}: unknown key(s) ${bad.map((k) => `${where}${k}`).join(', ')} (allowed: ${allowed.join(', ')})`);
  };
  unknown(doc, SECTIONS, '');
  const cfg = doc as FitConfigFile;
  if (cfg.train) unknown(cfg.train, TRAIN_KEYS, 'train.');
  if (cfg.optimizer) unknown(cfg.optimizer, OPTIMIZER_KEYS, 'optimizer.');
  return cfg;
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/** Flags over config over defaults, validated; errors name the flag or key at fault. */
export function resolveFitSettings(flags: FitFlags, cfg: FitConfigFile, defaults: { backend: string }): FitSettings {
  if (!flags.data) throw new Error('--data <file> is required');
  const modelName = flags.model ?? cfg.model?.model;
  if (!modelName) throw new Error(`--model is required (one of ${MODEL_NAMES.join(', ')})`);
  if (!(MODEL_NAMES as readonly string[]).includes(modelName)) throw new Error(`--model '${modelName}' is not a zoo model (choose from ${MODEL_NAMES.join(', ')})`);
  const model = parseModelConfig({
    ...cfg.model,
    model: modelName,
    ...(flags.towers ? { towers: flags.towers } : {}),
    ...(flags.embeddingDim ? { embeddingDim: flags.embeddingDim } : {}),
  });
  const optimizer: OptimizerConfig = { ...DEFAULT_OPTIMIZER, ...cfg.optimizer, ...(flags.lr !== undefined ? { lr: flags.lr } : {}) };
  check(optimizer.lr > 0, `learning rate must be positive, got ${optimizer.lr}`);
  check(optimizer.beta1 >= 0 && optimizer.beta1 < 1 && optimizer.beta2 >= 0 && optimizer.beta2 < 1, 'optimizer betas must be in [0, 1)');
  check(optimizer.eps > 0, 'optimizer.eps must be positive');
  check(optimizer.embeddingOptimizer === 'adam' || optimizer.embeddingOptimizer === 'adagrad', "optimizer.embeddingOptimizer must be 'adam' or 'adagrad'");
  check(optimizer.embeddingL2 >= 0 && optimizer.clipNorm >= 0, 'optimizer.embeddingL2 and optimizer.clipNorm must be ≥ 0');
  const t = cfg.train ?? {};
  const epochs = flags.epochs ?? t.epochs ?? 3;
  const batchSize = flags.batchSize ?? t.batchSize ?? 1024;
  const seed = flags.seed ?? t.seed ?? 1;
  const shuffleBuffer = flags.shuffleBuffer ?? t.shuffleBuffer ?? 100_000;
  check(Number.isInteger(epochs) && epochs >= 1, `epochs must be a positive integer, got ${epochs}`);
  check(Number.isInteger(batchSize) && batchSize >= 1, `batch size must be a positive integer, got ${batchSize}`);
  check(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
  check(Number.isInteger(shuffleBuffer) && shuffleBuffer >= 1, `shuffle buffer must be a positive integer, got ${shuffleBuffer}`);
  const metric = flags.earlyStop ?? t.earlyStop;
  const patience = flags.patience ?? t.patience ?? 2;
  if (metric !== undefined) metricKey(metric);
  check(Number.isInteger(patience) && patience >= 1, `patience must be a positive integer, got ${patience}`);
  if (metric !== undefined && !flags.valid) throw new Error(`--early-stop ${metric} needs validation data: pass --valid <file>`);
  if (cfg.data) parseDataConfig(cfg.data, 'config section data');
  return {
    train: flags.data,
    ...(flags.valid ? { valid: flags.valid } : {}),
    model,
    optimizer,
    ...(cfg.data ? { data: cfg.data } : {}),
    epochs,
    batchSize,
    seed,
    shuffleBuffer,
    ...(metric !== undefined ? { earlyStop: { metric, patience } } : {}),
    backend: flags.backend ?? t.backend ?? defaults.backend,
  };
}
