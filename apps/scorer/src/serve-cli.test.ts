import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, type Fixture } from './test-support/fixture.js';
import { csvRows, requestRows } from './test-support/rows.js';

let fixture: Fixture;
beforeAll(async () => {
  fixture = await makeFixture(300);
}, 60_000);
afterAll(() => fixture?.cleanup());

describe('esm2-score serve (CLI)', () => {
  it('serves the artifact on a free port and exits 0 on SIGTERM', async () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--model', fixture.run, '--port', '0', '--workers', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = / on (http:\/\/127\.0\.0\.1:\d+) with 1 worker/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    expect(stdout).toMatch(/esm2-score: esm2 sha256:[0-9a-f]{16} \(pctr, pctavr, pcvr, pctcvr\)/);
    const res = await fetch(`${url}/v1/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows: requestRows(csvRows(fixture.csv)).slice(0, 3) }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { predictions: unknown[] }).predictions).toHaveLength(3);
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/SIGTERM, finishing in-flight requests/);
  }, 30_000);
});
