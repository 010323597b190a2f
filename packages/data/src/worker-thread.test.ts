import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { tempDir } from './testing/tmp.js';
import { startModuleWorker } from './worker-thread.js';

const tmp = await tempDir();
const workerSource = (ts: boolean) =>
  `import { parentPort, workerData } from 'node:worker_threads';\nconst greeting${ts ? ': string' : ''} = 'hello ' + workerData.name;\nparentPort${ts ? '!' : ''}.postMessage(greeting);\n`;
// An ES module package, as this one is.
await writeFile(tmp('package.json'), '{ "type": "module" }\n');
await writeFile(tmp('probe.js'), workerSource(false));
await writeFile(tmp('probe.ts'), workerSource(true));
const caller = (ext: string) => pathToFileURL(tmp(`caller.${ext}`)).href;

/** The worker's first message, or its error. */
function firstMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  }).finally(() => worker.terminate());
}

const noTsx = (specifier: string): string => {
  throw Object.assign(new Error(`Cannot find package '${specifier.split('/')[0]}'`), { code: 'ERR_MODULE_NOT_FOUND' });
};

describe('startModuleWorker', () => {
  it('from built JavaScript runs the .js module and needs no tsx at all', async () => {
    const worker = startModuleWorker(caller('js'), 'probe', { workerData: { name: 'dist' } }, noTsx);
    expect(await firstMessage(worker)).toBe('hello dist');
  });

  it('from TypeScript sources loads the .ts module through tsx', async () => {
    expect(await firstMessage(startModuleWorker(caller('ts'), 'probe', { workerData: { name: 'sources' } }))).toBe('hello sources');
  });

  it('from TypeScript sources without tsx fails at once, naming the worker and what to do', () => {
    expect(() => startModuleWorker(caller('ts'), 'probe', {}, noTsx)).toThrow(
      new RegExp(`cannot start worker ${tmp('probe.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: running from TypeScript sources needs tsx .*Cannot find package 'tsx'.*install tsx as a dev dependency, or run the built package`),
    );
  });
});
