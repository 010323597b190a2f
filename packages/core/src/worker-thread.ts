import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Finds a module's URL as `import` would from here (`import.meta.resolve`); tests inject a failing one. */
export type ModuleResolver = (specifier: string) => string;

/**
 * Starts a worker on a module next to the caller: the compiled `.js` when
 * running from dist/ (plain JavaScript: nothing else is needed), the `.ts`
 * source when the caller itself is a `.ts` file (tests, tsx). Node 20
 * workers do not inherit the parent's loader hooks, so from sources a small
 * bootstrap first registers tsx through its public API (`tsx/esm/api`) and
 * then imports the entry. tsx is needed only then, as the dev tool it is: it
 * is no dependency of this package, and a missing one is a clear error.
 */
export function startModuleWorker(callerUrl: string, basename: string, options: WorkerOptions = {}, resolve: ModuleResolver = (s) => import.meta.resolve(s)): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const entry = new URL(`./${basename}.${fromSources ? 'ts' : 'js'}`, callerUrl);
  if (!fromSources) return new Worker(entry, options);
  let tsxApi: string;
  try {
    tsxApi = resolve('tsx/esm/api');
  } catch (err) {
    throw new Error(
      `cannot start worker ${entry.pathname}: running from TypeScript sources needs tsx to load it (${(err as Error).message}); ` +
        'install tsx as a dev dependency, or run the built package (dist/), whose workers are plain JavaScript',
    );
  }
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
