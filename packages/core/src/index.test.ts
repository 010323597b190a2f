import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * A module-resolution hook that reports every Node built-in asked for
 * (`node:fs`, or a bare `fs`) on stderr with the module asking, so what a
 * real import loads is observed rather than inferred from the source.
 */
const HOOK = `
import { builtinModules } from 'node:module';
const builtins = new Set(builtinModules);
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('node:') || builtins.has(specifier)) process.stderr.write('BUILTIN ' + specifier + ' from ' + context.parentURL + '\\n');
  return next(specifier, context);
}`;

/** The built-ins `entry` (relative to the package) loads, as "specifier from module" lines. */
async function builtinsLoadedBy(entry: string): Promise<string[]> {
  const script = [
    "const { register } = await import('node:module');",
    `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`,
    `await import(${JSON.stringify(entry)});`,
    "process.stdout.write('imported');",
  ].join('\n');
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: packageDir });
  expect(stdout).toBe('imported');
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('BUILTIN '))
    .map((line) => line.slice('BUILTIN '.length).replace(`file://${packageDir}`, ''));
}

describe('the main entry is free of Node built-ins', () => {
  it('importing @esm2/core (src/index.ts) loads no node: or bare built-in module', async () => {
    expect(await builtinsLoadedBy('./src/index.ts')).toEqual([]);
  });

  it('the hook does see them: @esm2/core/node (src/node.ts) loads fs, crypto, child_process and worker_threads', async () => {
    const loaded = (await builtinsLoadedBy('./src/node.ts')).map((line) => line.split(' ')[0]);
    for (const builtin of ['node:fs/promises', 'node:crypto', 'node:child_process', 'node:worker_threads']) expect(loaded).toContain(builtin);
  });
});
