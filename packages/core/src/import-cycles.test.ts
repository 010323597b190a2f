import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * No module of the workspace reaches itself through relative imports, type-only
 * ones included: a cycle is a design knot even when erased at runtime. Reads every
 * `src/` of packages/* and apps/* as text (static `from '…'`, side-effect and
 * dynamic `import('…')` specifiers starting with `.`).
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(): string[] {
  const files: string[] = [];
  for (const group of ['packages', 'apps']) {
    for (const pkg of readdirSync(join(root, group))) {
      const src = join(root, group, pkg, 'src');
      if (!existsSync(src)) continue;
      for (const entry of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
        if (/\.tsx?$/.test(entry) && !entry.endsWith('.d.ts')) files.push(join(src, entry));
      }
    }
  }
  return files;
}

function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets: string[] = [];
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const base = resolve(dirname(file), spec!);
      const target = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, join(base, 'index.ts')].find((t) => known.has(t));
      if (target) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('import cycles', () => {
  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('no source module of the workspace imports itself through others', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(100);
    const graph = importGraph(files);
    expect(graph.get(join(root, 'packages/core/src/train/host-engine.ts'))).toContain(join(root, 'packages/core/src/train/shard-pool.ts'));
    expect(cycles(graph).map((c) => c.map((f) => relative(root, f)).join(' -> '))).toEqual([]);
  });
});
