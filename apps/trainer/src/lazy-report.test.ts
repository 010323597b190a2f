import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const trainerDir = fileURLToPath(new URL('..', import.meta.url));

// A resolve hook that refuses vega, vega-lite and their vega-* packages, in a child process: whatever
// imports one of them fails with `refused: <specifier>`.
const HOOK = `export async function resolve(specifier, context, next) {
  if (/^vega(-|$)/.test(specifier)) throw new Error('refused: ' + specifier);
  return next(specifier, context);
}`;

/** Runs `body` (an ES module) in a child node with tsx and the hook; its stdout lines. */
function withVegaRefused(body: string): Promise<string[]> {
  const script = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}));
${body}`;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: trainerDir }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim().split('\n')),
    ),
  );
}

describe('the report charts load vega only when a chart is drawn', () => {
  it("importing @esm2/trainer's entry loads neither vega nor vega-lite", async () => {
    const out = await withVegaRefused(`const t = await import('./src/index.ts'); console.log(typeof t.fit, typeof t.runCompare);`);
    expect(out).toEqual(['function function']);
  });

  it('drawing a chart does load them (the hook sees the import it refuses)', async () => {
    const out = await withVegaRefused(`const r = await import('@esm2/report');
try { await r.renderSvg({ data: { values: [] }, mark: 'point' }); console.log('drawn'); } catch (e) { console.log(e.message); }`);
    expect(out).toEqual(['refused: vega']);
  });
});
