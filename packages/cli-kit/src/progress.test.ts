import { describe, expect, it } from 'vitest';
import { Progress } from './progress.js';

/** A stream that records what was written; `isTTY` decides bar or lines. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (s: string) => chunks.push(s), columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, on: () => undefined, removeListener: () => undefined } };
}

describe('Progress on a pipe', () => {
  it('prints a plain line at most once per interval, then the final state on stop', () => {
    const { chunks, stream } = sink(false);
    let t = 0;
    const p = new Progress({ label: 'scoring', stream, intervalMs: 5000, now: () => t });
    t = 1000;
    p.update(100, { total: 1000 });
    t = 4000;
    p.update(400, { total: 1000 });
    expect(chunks).toEqual([]);
    t = 5000;
    p.update(500, { total: 1000, info: { loss: '0.4213' } });
    expect(chunks).toEqual(['scoring: 500/1000 rows (50%), 100 rows/s, loss 0.4213\n']);
    t = 8000;
    p.update(1000, { total: 1000 });
    p.stop();
    p.stop();
    expect(chunks).toEqual(['scoring: 500/1000 rows (50%), 100 rows/s, loss 0.4213\n', 'scoring: 1000/1000 rows (100%), 125 rows/s\n']);
    expect(chunks.join('')).not.toContain('\u001b'); // no terminal escape codes in logs
  });

  it('counts without a total, shows fractions with their stage, and prints nothing when disabled or never updated', () => {
    const { chunks, stream } = sink(false);
    let t = 0;
    const rows = new Progress({ label: 'import aliccp', stream, now: () => t });
    t = 4000;
    rows.update(3000);
    rows.stop();
    const frac = new Progress({ label: 'import userbehavior', stream, intervalMs: 0 });
    frac.fraction(0.5, 'join');
    new Progress({ label: 'quiet', stream, enabled: false, intervalMs: 0 }).update(5);
    new Progress({ label: 'idle', stream }).stop();
    expect(chunks).toEqual(['import aliccp: 3000 rows, 750 rows/s\n', 'import userbehavior join: 50%\n']);
  });
});

describe('Progress on a terminal', () => {
  it('draws a cli-progress bar with label, count and total on the stream it was given', () => {
    const { chunks, stream } = sink(true);
    const p = new Progress({ label: 'epoch 1/3', stream });
    p.update(250, { total: 1000, info: { loss: '0.5000' } });
    p.stop();
    const out = chunks.join('');
    expect(out).toContain('epoch 1/3');
    expect(out).toContain('250/1000 rows');
    expect(out).toContain('loss 0.5000');
  });
});
