import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MODEL_FILE, WEIGHTS_FILE } from '../artifact/format.js';

/** A path as the user named it, with the flag (or option) it came from, e.g. `{ flag: '--train', path: 'a.csv' }`. */
export interface NamedPath {
  flag: string;
  path: string;
}

/** `{ flag, path }`, or undefined for an option not given: what refuseSamePaths and samePathGroups skip. */
export function namedPath(flag: string, path: string | undefined): NamedPath | undefined {
  return path === undefined ? undefined : { flag, path };
}

/** Two named paths that are one file (or directory): an output would overwrite an input, or two outputs each other. */
export class SamePathError extends Error {
  constructor(
    readonly first: NamedPath,
    readonly second: NamedPath,
    kind: 'input' | 'output',
    noun: 'file' | 'directory' = 'file',
  ) {
    const what = kind === 'input' ? `would overwrite the input ${second.flag}` : `and ${second.flag} would overwrite each other`;
    super(`${first.flag} ${first.path} is the same ${noun} as ${second.flag} ${second.path}: ${first.flag} ${what}; choose another output path`);
    this.name = 'SamePathError';
  }
}

/**
 * An output and an input (or two outputs) of which one lies inside the
 * other: an output directory that holds an input (replacing the directory
 * would delete it; writing into it mixes the two), or an output inside an
 * input directory (it lands among the input's files).
 */
export class NestedPathError extends Error {
  constructor(
    readonly inner: NamedPath,
    readonly outer: NamedPath,
    /** Which of the two is the output (for two outputs: the outer one). */
    output: 'inner' | 'outer',
    kind: 'input' | 'output',
  ) {
    const role = kind === 'input' ? 'the input ' : '';
    super(
      output === 'outer'
        ? `${outer.flag} ${outer.path} holds ${role}${inner.flag} ${inner.path}: writing ${outer.flag} there would replace or mix with it; choose an ${outer.flag} that does not contain ${inner.flag}`
        : `${inner.flag} ${inner.path} is inside ${role}${outer.flag} ${outer.path}: its files would land among ${outer.flag}'s; choose an ${inner.flag} outside ${outer.flag}`,
    );
    this.name = 'NestedPathError';
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

interface Identity {
  /** What makes two paths one file: device and inode when it exists (hard links, symlinks, `./a` vs `a`), else its real path. */
  id: string;
  /** The real path, for telling whether one path lies inside another. */
  real: string;
  dir: boolean;
}

async function identity(path: string): Promise<Identity> {
  const real = await realish(path);
  try {
    const s = await stat(path, { bigint: true });
    return { id: `inode:${s.dev}:${s.ino}`, real, dir: s.isDirectory() };
  } catch {
    return { id: `path:${real}`, real, dir: false };
  }
}

/** Whether real path `inner` lies strictly inside real path `outer`. */
function isInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Refuses, before anything is read or written, a run whose outputs include
 * one of its inputs or name one file twice: `a.csv`, `./a.csv`, a symlink
 * to it and a hard link all count as the same file; directories likewise
 * (`d`, `d/.`, `d/../d`, a symlink to `d`). An output that lies inside an
 * input directory, or an output directory holding an input (or another
 * output), is refused too. Absent entries (optional flags not given) are
 * skipped. Inputs may repeat.
 */
export async function refuseSamePaths(inputs: (NamedPath | undefined)[], outputs: (NamedPath | undefined)[]): Promise<void> {
  const ins = inputs.filter((p): p is NamedPath => p !== undefined);
  const outs = outputs.filter((p): p is NamedPath => p !== undefined);
  const inIds = await Promise.all(ins.map((p) => identity(p.path)));
  const outIds = await Promise.all(outs.map((p) => identity(p.path)));
  for (const [k, out] of outs.entries()) {
    const o = outIds[k]!;
    const i = inIds.findIndex((x) => x.id === o.id);
    if (i >= 0) throw new SamePathError(out, ins[i]!, 'input', o.dir ? 'directory' : 'file');
    const j = outIds.findIndex((x) => x.id === o.id);
    if (j < k) throw new SamePathError(outs[j]!, out, 'output', o.dir ? 'directory' : 'file');
  }
  for (const [k, out] of outs.entries()) {
    const o = outIds[k]!;
    for (const [i, inp] of ins.entries()) {
      if (isInside(inIds[i]!.real, o.real)) throw new NestedPathError(inp, out, 'outer', 'input');
      if (isInside(o.real, inIds[i]!.real)) throw new NestedPathError(out, inp, 'inner', 'input');
    }
    for (const [j, other] of outs.entries()) {
      if (isInside(outIds[j]!.real, o.real)) throw new NestedPathError(other, out, 'outer', 'output');
    }
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
      const outer = await realish(dir.path);
      if (real === outer || isInside(real, outer)) {
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
  given.forEach((p, i) => groups.set(ids[i]!.id, [...(groups.get(ids[i]!.id) ?? []), p]));
  return [...groups.values()].filter((g) => g.length > 1);
}

/** The files of model artifact directory `dir` (model.json, weights.bin), each named by `flag`: a model read as an input. */
export function artifactInputs(dir: string, flag = '--model'): NamedPath[] {
  return [MODEL_FILE, WEIGHTS_FILE].map((f) => ({ flag, path: join(dir, f) }));
}
