import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker on a module next to the caller: the compiled `.js` when
 * running from dist/, the `.ts` source under tsx or vitest. Node 20 does not
 * apply `--import tsx` to workers, so from sources a small bootstrap
 * registers tsx's ESM hooks first and then imports the entry.
 */
export function startModuleWorker(callerUrl: string, basename: string, options: WorkerOptions = {}): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const entry = new URL(`./${basename}.${fromSources ? 'ts' : 'js'}`, callerUrl).href;
  if (!fromSources) return new Worker(new URL(entry), options);
  const tsxRoot = dirname(createRequire(callerUrl).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
