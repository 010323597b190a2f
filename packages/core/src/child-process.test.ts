import { describe, expect, it } from 'vitest';
import { runCommand } from './child-process.js';

const node = process.execPath;
const cannotStart = (code: string) => new Error(`missing (${code})`);

describe('runCommand', () => {
  it('resolves with any exit code, the tail of stderr and stdout when asked for', async () => {
    let stdout = '';
    const exit = await runCommand(node, ['-e', "process.stdout.write('out'); process.stderr.write('x'.repeat(100) + 'END'); process.exit(7)"], {
      stdout: (s) => s.on('data', (d: string) => (stdout += d)),
      stderrKeep: 10,
      cannotStart,
    });
    expect(exit).toEqual({ code: 7, signal: null, stderr: 'xxxxxxxEND' });
    expect(stdout).toBe('out');
  });

  it('a command that cannot be started rejects with the caller’s error', async () => {
    await expect(runCommand('/nonexistent/python3', [], { cannotStart })).rejects.toThrow('missing (ENOENT)');
  });

  it('an abort kills the command and rejects with the reason once it has closed', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    let started = false;
    const run = runCommand(node, ['-e', "process.stdout.write('ready'); setInterval(() => {}, 1000)"], {
      signal: controller.signal,
      killSignal: 'SIGKILL',
      // Abort once the child is running (its first output), not on a timer.
      stdout: (s) =>
        s.once('data', () => {
          started = true;
          controller.abort(reason);
        }),
      cannotStart,
    });
    await expect(run).rejects.toBe(reason);
    expect(started).toBe(true);
    await expect(runCommand(node, ['-e', ''], { signal: controller.signal, cannotStart })).rejects.toBe(reason);
  });
});
