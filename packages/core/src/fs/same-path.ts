import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MODEL_FILE, WEIGHTS_FILE } from '../artifact/format.js';

/** A path as the user named it, with the flag (or option) it came from, e.g. `{ flag: '--train', path: 'a.csv' }`. */
export interface NamedPath {
  flag: string;
  path: string;
}

/** Two named paths that are one file: an output would overwrite an input, or two outputs each other. */
export class SamePathError extends Error {
  constructor(
    readonly first: NamedPath,
    readonly second: NamedPath,
    kind: 'input' | 'output',
  ) {
    const what = kind === 'input' ? `would overwrite the input ${second.flag}` : `and ${second.flag} would overwrite each other`;
    super(`${first.flag} ${first.path} is the same file as ${second.flag} ${second.path}: ${first.flag} ${what}; choose another output path`);
    this.name = 'SamePathError';
  }
}

/** The real path of `path`, resolving symlinks in the part that exists (the rest may be created later). */
async function realish(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(await realish(parent), basename(abs));
  }
}

/** What makes two paths one file: device and inode when it exists (hard links, symlinks, `./a` vs `a`), else its real path. */
async function identity(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `inode:${s.dev}:${s.ino}`;
  } catch {
    return `path:${await realish(path)}`;
  }
}

/**
 * Refuses, before anything is read or written, a run whose outputs include
 * one of its inputs or name one file twice: `a.csv`, `./a.csv`, a symlink
 * to it and a hard link all count as the same file. Absent entries
 * (optional flags not given) are skipped. Inputs may repeat.
 */
export async function refuseSamePaths(inputs: (NamedPath | undefined)[], outputs: (NamedPath | undefined)[]): Promise<void> {
  const ins = inputs.filter((p): p is NamedPath => p !== undefined);
  const outs = outputs.filter((p): p is NamedPath => p !== undefined);
  const inIds = await Promise.all(ins.map((p) => identity(p.path)));
  const outIds = await Promise.all(outs.map((p) => identity(p.path)));
  for (const [k, out] of outs.entries()) {
    const i = inIds.indexOf(outIds[k]!);
    if (i >= 0) throw new SamePathError(out, ins[i]!, 'input');
    const j = outIds.indexOf(outIds[k]!);
    if (j < k) throw new SamePathError(outs[j]!, out, 'output');
  }
}

/**
 * Refuses, before anything is written, an output that lies inside one of
 * `dirs` (directories another command rewrites as a whole, such as a run's
 * best/ artifact): whether or not the output exists yet, following symlinks
 * in the part that exists.
 */
export async function refuseInsideDirs(dirs: (NamedPath | undefined)[], outputs: (NamedPath | undefined)[]): Promise<void> {
  for (const out of outputs) {
    if (out === undefined) continue;
    const real = await realish(out.path);
    for (const dir of dirs) {
      if (dir === undefined) continue;
      const rel = relative(await realish(dir.path), real);
      if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
        throw new Error(`${out.flag} ${out.path} is inside ${dir.flag} ${dir.path}, which is not for outputs; choose a path outside it`);
      }
    }
  }
}

/**
 * The given paths grouped by the file they name (the identity refuseSamePaths
 * uses: `a.csv`, `./a.csv`, links): only groups of two or more, in the order
 * given. Absent entries are skipped.
 */
export async function samePathGroups(paths: (NamedPath | undefined)[]): Promise<NamedPath[][]> {
  const given = paths.filter((p): p is NamedPath => p !== undefined);
  const ids = await Promise.all(given.map((p) => identity(p.path)));
  const groups = new Map<string, NamedPath[]>();
  given.forEach((p, i) => groups.set(ids[i]!, [...(groups.get(ids[i]!) ?? []), p]));
  return [...groups.values()].filter((g) => g.length > 1);
}

/** The files of model artifact directory `dir` (model.json, weights.bin), each named by `flag`: a model read as an input. */
export function artifactInputs(dir: string, flag = '--model'): NamedPath[] {
  return [MODEL_FILE, WEIGHTS_FILE].map((f) => ({ flag, path: join(dir, f) }));
}
