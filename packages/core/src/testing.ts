import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GraphBuilder, ops, type Value } from './ir/builder.js';
import { mulberry32 } from './random.js';
import type { HostTensor } from './ir/tensor.js';
import type { Graph } from './ir/types.js';
import { concreteShape, sizeOf } from './ir/shape.js';
import { parseFeatureSchema, tableSize, type FeatureSchema } from './schema.js';

/**
 * Fixtures shared by the tests of every package: a small schema touching each
 * field kind, and random feeds that respect the behaviour graph.
 */
export function smallSchema(): FeatureSchema {
  return parseFeatureSchema({
    fields: [
      { kind: 'categorical', name: 'user', encoding: { kind: 'vocabulary', size: 7 } },
      { kind: 'categorical', name: 'item', encoding: { kind: 'hash', buckets: 11 }, embeddingDim: 3 },
      { kind: 'multiCategorical', name: 'tags', encoding: { kind: 'vocabulary', size: 5 }, maxLength: 3, pooling: 'mean' },
      { kind: 'numeric', name: 'price' },
      { kind: 'numeric', name: 'age' },
    ],
    userField: 'user',
  });
}

/**
 * Random inputs for every graph input: ids in range (multi-valued ones with
 * some -1 padding), standard-normal numerics, and labels with
 * daction/buy only on clicked rows.
 */
export function randomFeeds(graph: Graph, schema: FeatureSchema, batch: number, seed: number): Record<string, HostTensor> {
  const rand = mulberry32(seed);
  const feeds: Record<string, HostTensor> = {};
  const click = Float32Array.from({ length: batch }, () => (rand() < 0.5 ? 1 : 0));
  const labels: Record<string, Float32Array> = {
    click,
    daction: click.map((c) => (c && rand() < 0.5 ? 1 : 0)),
    buy: click.map((c) => (c && rand() < 0.4 ? 1 : 0)),
  };
  for (const input of graph.inputs) {
    const shape = concreteShape(input.type.shape, batch);
    const field = schema.fields.find((f) => f.name === input.name);
    if (input.role === 'label') {
      feeds[input.name] = { shape, data: labels[input.name]! };
    } else if (field && field.kind !== 'numeric') {
      const size = tableSize(field);
      const data = Int32Array.from({ length: sizeOf(shape) }, (_, i) =>
        field.kind === 'multiCategorical' && i % shape[1]! > 0 && rand() < 0.3 ? -1 : Math.floor(rand() * size),
      );
      feeds[input.name] = { shape, data };
    } else {
      feeds[input.name] = { shape, data: Float32Array.from({ length: sizeOf(shape) }, () => (rand() * 2 - 1) * 1.5) };
    }
  }
  return feeds;
}

/**
 * What is at `path`, for asserting that a refused command touched nothing:
 * every file under it (or the file itself) by relative path, with the sha256
 * of its bytes (`dir/` for a directory, `-> target` for a symlink; not
 * followed). Two calls compare equal only if no entry was added, removed or
 * changed.
 */
export async function treeDigest(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (p: string): Promise<void> => {
    const rel = relative(path, p) || '.';
    const s = await lstat(p);
    if (s.isSymbolicLink()) out[rel] = `-> ${await readlink(p)}`;
    else if (s.isDirectory()) {
      out[rel] = 'dir/';
      for (const e of (await readdir(p)).sort()) await visit(join(p, e));
    } else out[rel] = createHash('sha256').update(await readFile(p)).digest('hex');
  };
  await visit(path);
  return out;
}

/**
 * A tiny tmpfs (default 1 MiB) mounted on a fresh directory, for full-disk
 * tests; or, where mounting is not permitted (not root, no CAP_SYS_ADMIN,
 * not Linux), why not, so the caller can skip with that reason.
 */
export async function mountTinyTmpfs(size = '1m'): Promise<{ dir: string; unmount: () => Promise<void> } | { reason: string }> {
  const run = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => execFile(cmd, args, (err, _out, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve())));
  if (process.platform !== 'linux') return { reason: `tmpfs needs Linux (this is ${process.platform})` };
  const dir = await mkdtemp(join(tmpdir(), 'esm2-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  } catch (e) {
    await rmdir(dir);
    return { reason: `cannot mount a tmpfs here: ${(e as Error).message}` };
  }
  return {
    dir,
    unmount: async () => {
      await run('umount', [dir]);
      await rmdir(dir);
    },
  };
}

/**
 * Largest |got − want| / max(1, |want|) over all elements: absolute for
 * probabilities and small gradients, relative for large loss-like values;
 * Infinity for a length mismatch or a NaN. How every backend's parity test
 * compares with the interpreter.
 */
export function worstError(got: ArrayLike<number>, want: HostTensor): number {
  if (got.length !== want.data.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const w = want.data[i]!;
    const err = Math.abs(got[i]! - w) / Math.max(1, Math.abs(w));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

/**
 * A hand-built graph putting every backward and optimizer op, the ops zoo
 * graphs and their gradients do not reach (sub, sqrt, div, sum, maximum: the
 * optimizer's) and the edge cases of the others on one page, for every
 * backend's parity tests against the interpreter: padding ids and rows of
 * padding only in the scatters, duplicate ids, probabilities at and beyond
 * bce's clip, weights summing to 0, sums over broadcast axes of several
 * kinds (a leading 1 kept too), matmuls transposed on either side and both.
 */
export function edgeOpsGraph(): Graph {
  const b = new GraphBuilder('edge-ops');
  const x = b.input('x', 'f32', ['batch', 4]);
  const dy = b.input('dy', 'f32', ['batch', 4]);
  const g = b.input('g', 'f32', ['batch']);
  const p = b.input('p', 'f32', ['batch']);
  const y = b.input('y', 'f32', ['batch'], 'label');
  const w = b.input('w', 'f32', ['batch']);
  const ids = b.input('ids', 'i32', ['batch']);
  const multi = b.input('multi', 'i32', ['batch', 3]);
  const m = b.param('m', [4, 4], { kind: 'glorotUniform' });
  const table = b.param('table', [6, 4], { kind: 'normal', std: 1 }, 'embedding');
  const out: Record<string, Value> = {
    pooledSum: ops.pooledGather(b, table, multi, 'sum'),
    pooledMean: ops.pooledGather(b, table, multi, 'mean'),
    bce: ops.bce(b, p, y),
    bceWide: ops.bce(b, p, y, 0.05),
    mean: ops.mean(b, g),
    weightedMean: ops.weightedMean(b, g, w),
    reluGrad: b.op('reluGrad', [dy, x], {}),
    bceGrad: b.op('bceGrad', [g, p, y], { eps: 1e-7 }),
    bceGradWide: b.op('bceGrad', [g, p, y], { eps: 0.05 }),
    meanGrad: b.op('meanGrad', [ops.constant(b, 2.5), x], {}),
    weightedMeanGrad: b.op('weightedMeanGrad', [ops.constant(b, 0.7), w], {}),
    sumToRow: b.op('sumTo', [x], { shape: [4] }),
    sumToCol: b.op('sumTo', [x], { shape: ['batch', 1] }),
    sumToScalar: b.op('sumTo', [x], { shape: [] }),
    sumToSame: b.op('sumTo', [x], { shape: ['batch', 4] }),
    slice: b.op('slice', [x], { axis: 1, start: 1, size: 2 }),
    scatterAdd: b.op('scatterAdd', [ids, dy], { rows: 6 }),
    pooledScatterMean: b.op('pooledScatterAdd', [multi, dy], { rows: 6, mode: 'mean' }),
    pooledScatterSum: b.op('pooledScatterAdd', [multi, dy], { rows: 6, mode: 'sum' }),
    sub: ops.sub(b, x, dy),
    matmulTransB: b.op('matmul', [x, m], { transB: true }),
    matmulTransA: b.op('matmul', [x, dy], { transA: true }),
    matmulTransAB: b.op('matmul', [m, x], { transA: true, transB: true }),
    sumToLeadingOne: b.op('sumTo', [x], { shape: [1, 4] }),
    sqrt: ops.sqrt(b, ops.maximum(b, x, ops.constant(b, 0))),
    div: ops.div(b, x, ops.maximum(b, dy, ops.constant(b, 0.5))),
    sum: ops.sum(b, x),
    reshapeIds: ops.reshape(b, multi, ['batch', 1, 3]),
  };
  for (const [name, v] of Object.entries(out)) b.output(name, v);
  return b.build();
}

/**
 * Feeds for edgeOpsGraph: ids with padding (-1) and duplicates, a first row of
 * padding only, a second row holding one id twice, probabilities at and
 * beyond the clip, zeros in x, and weights at random, all zero (weightedMean's
 * 0/0 case) or negative (a sum below 0 also gives 0).
 */
export function edgeOpsFeeds(batch: number, seed: number, weights: 'random' | 'zero' | 'negative' = 'random'): Record<string, HostTensor> {
  const r = mulberry32(seed);
  const f32 = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  const specialP = [0, 1e-9, 1, 1 - 1e-9, 0.05, 0.95, 1e-7, 1 - 1e-7];
  return {
    // Every fifth x is exactly 0: relu's kink (reluGrad passes x > 0 only).
    x: { shape: [batch, 4], data: f32(batch * 4, (i) => (i % 5 === 0 ? 0 : r() * 4 - 2)) },
    dy: { shape: [batch, 4], data: f32(batch * 4, () => r() * 2 - 1) },
    g: { shape: [batch], data: f32(batch, () => r() * 2 - 1) },
    p: { shape: [batch], data: f32(batch, (i) => specialP[i] ?? 0.01 + r() * 0.98) },
    y: { shape: [batch], data: f32(batch, () => (r() < 0.4 ? 1 : 0)) },
    w: { shape: [batch], data: f32(batch, () => (weights === 'zero' ? 0 : weights === 'negative' ? -r() : r() < 0.3 ? 0 : r() * 3)) },
    ids: { shape: [batch], data: Int32Array.from({ length: batch }, () => (r() < 0.2 ? -1 : Math.floor(r() * 6))) },
    multi: {
      shape: [batch, 3],
      data: Int32Array.from({ length: batch * 3 }, (_, i) => (i < 3 || i === 5 ? -1 : i === 3 || i === 4 ? 2 : r() < 0.3 ? -1 : Math.floor(r() * 6))),
    },
  };
}

/**
 * Something a test needs from outside the repository (python3 with torch,
 * numpy or xgboost, /usr/bin/chromium, the ../shared/data samples), and
 * whether it is here.
 */
export interface Requirement {
  /** What is needed, as a reader says it: `python3 with torch`. */
  what: string;
  /** Why it is not here (`/usr/bin/python3 cannot import torch`), or undefined when it is. */
  missing: string | undefined;
  /** How to get it: `apt-get install python3-torch`. */
  install: string;
}

/** requires()'s answer: whether to define the tests as running, and the check that fails them under CI. */
export interface Required {
  /** True when the requirement is here, or under CI=true (where check() then fails the tests). */
  run: boolean;
  /** Throws, naming what is missing and how to install it, when it is missing (so only under CI=true once run is true); call it in beforeAll. */
  check: () => void;
  /**
   * For a test only part of which needs the requirement, called inside it
   * with vitest's test context: when missing, skips the rest of the test
   * with the reason (outside CI) or throws as check() does (under CI=true).
   */
  within: (test: { skip: (note?: string) => void }) => void;
}

const skipsPrinted = new Set<string>();

/**
 * The one skip policy for tests that depend on something outside the
 * repository. Outside CI a missing requirement skips the tests (`run` is
 * false), printing once what is missing and how to install it; under
 * CI=true it never skips: `run` is true and `check()` (in a beforeAll)
 * fails every test with the same words. Use:
 * `const torch = requires({...}); describe.runIf(torch.run)('…', () => { beforeAll(torch.check); … })`.
 * `env` and `print` are for this policy's own tests.
 */
export function requires(req: Requirement, env: Record<string, string | undefined> = process.env, print: (line: string) => void = console.warn): Required {
  const ci = env['CI'] === 'true';
  const reason = req.missing === undefined ? undefined : `${req.missing} (install: ${req.install})`;
  if (reason !== undefined && !ci && !skipsPrinted.has(`${req.what}: ${reason}`)) {
    skipsPrinted.add(`${req.what}: ${reason}`);
    print(`skipping the tests that need ${req.what}: ${reason}; under CI=true they fail instead`);
  }
  const check = () => {
    if (reason !== undefined) throw new Error(`${req.what} is missing: ${reason}; CI=true makes a missing requirement a failure, not a skip`);
  };
  return {
    run: reason === undefined || ci,
    check,
    within: (test) => {
      if (reason === undefined) return;
      if (ci) check();
      test.skip(`needs ${req.what}: ${reason}`);
    },
  };
}

/** Why `python` cannot import `module` (undefined when it can): for Requirement.missing. */
export function missingPythonModule(python: string, module: string): string | undefined {
  const probe = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8' });
  if (probe.error) return `${python} cannot be run (${probe.error.message})`;
  return probe.status === 0 ? undefined : `${python} cannot import ${module}`;
}

/**
 * requires() for a Python module under `python` (Debian's python3-<module>):
 * `requiresPythonModule('/usr/bin/python3', 'xgboost')`.
 */
export function requiresPythonModule(python: string, module: string, env?: Record<string, string | undefined>, print?: (line: string) => void): Required {
  return requires({ what: `${python} with ${module}`, missing: missingPythonModule(python, module), install: `apt-get install python3-${module}` }, env, print);
}

/** Why `path` is not there (undefined when it is): for Requirement.missing. */
export function missingPath(path: string): string | undefined {
  return existsSync(path) ? undefined : `${path} does not exist`;
}
