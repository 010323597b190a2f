import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicOutput, withAtomicOutput, withAtomicOutputs, withStagedOutputs, writeFileAtomic, writeJsonAtomic } from './atomic.js';
import { replaceDirAtomically } from './dir-swap.js';
import { liveTemps } from './temp-registry.js';
import { WriteError } from './write-error.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-fs-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A system error as Node's fs raises it (`ENOSPC: no space left on device, write`: no path). */
function sysError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: simulated, ${syscall}${path ? ` '${path}'` : ''}`);
  e.code = code;
  e.syscall = syscall;
  if (path) e.path = path;
  return e;
}

describe('writeFileAtomic', () => {
  it('creates, replaces, and leaves nothing but the file', async () => {
    const f = join(dir, 'out.json');
    await writeFileAtomic(f, 'one');
    await writeFileAtomic(f, new TextEncoder().encode('two'));
    expect(await readFile(f, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['out.json']);
  });

  it('fills from positional writes in any order', async () => {
    const f = join(dir, 'out.bin');
    await writeFileAtomic(f, async (write) => {
      await write(new Uint8Array([3, 4]), 2);
      await write(new Uint8Array([1, 2]), 0);
    });
    expect([...(await readFile(f))]).toEqual([1, 2, 3, 4]);
  });

  it('a failing fill keeps the old file and removes its temp', async () => {
    const f = join(dir, 'out.bin');
    await writeFileAtomic(f, 'old');
    await expect(
      writeFileAtomic(f, async (write) => {
        await write(new Uint8Array([9]), 0);
        throw sysError('ENOSPC', 'write');
      }),
    ).rejects.toThrow(`cannot write ${f}: no space left on device`);
    expect(await readFile(f, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['out.bin']);
    expect(liveTemps()).toEqual([]);
  });

  it('a missing directory is reported by the path asked for, not the temp name', async () => {
    const f = join(dir, 'missing', 'out.json');
    const err = await writeFileAtomic(f, '{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteError);
    expect((err as Error).message).toBe(`cannot write ${f}: directory ${join(dir, 'missing')} does not exist`);
    expect((err as WriteError).code).toBe('ENOENT');
  });

  it('a directory at the target: EISDIR names the path, the directory and its content stay', async () => {
    const f = join(dir, 'taken');
    await mkdir(f);
    await writeFile(join(f, 'keep'), 'x');
    await expect(writeFileAtomic(f, 'data')).rejects.toThrow(`cannot write ${f}: it is a directory`);
    expect((await readdir(dir)).sort()).toEqual(['taken']);
    expect(await readFile(join(f, 'keep'), 'utf8')).toBe('x');
  });

  it('mkdirs creates missing parents (writeJsonAtomic)', async () => {
    const f = join(dir, 'a', 'b', 'm.json');
    await writeJsonAtomic(f, { x: Number.NaN, y: 1 }, { mkdirs: true });
    expect(await readFile(f, 'utf8')).toBe('{\n  "x": null,\n  "y": 1\n}\n');
  });
});

describe('withAtomicOutput (outputs made by a tool)', () => {
  it('renames what the tool wrote; the temp keeps the asked suffix', async () => {
    const f = join(dir, 'out.parquet');
    const seen = await withAtomicOutput(f, async (tmp) => {
      await writeFile(tmp, 'rows');
      return tmp;
    }, { suffix: '.parquet' });
    expect(seen.endsWith('.parquet')).toBe(true);
    expect(seen.startsWith(join(dir, '.out.parquet.tmp-'))).toBe(true);
    expect(await readFile(f, 'utf8')).toBe('rows');
    expect(await readdir(dir)).toEqual(['out.parquet']);
  });

  it("a tool's error naming the temp file is restated with the target path", async () => {
    const f = join(dir, 'out.csv');
    const err = await withAtomicOutput(f, async (tmp) => {
      await writeFile(tmp, 'half');
      throw new Error(`IO Error: Could not write file "${tmp}": No space left on device`);
    }).catch((e: unknown) => e as Error);
    expect(err.message).toBe(`cannot write ${f}: IO Error: Could not write file "${f}": No space left on device`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('an output that can never be written fails before the tool runs', async () => {
    let ran = 0;
    const tool = async (tmp: string) => void (ran++, await writeFile(tmp, 'x'));
    await mkdir(join(dir, 'adir'));
    await writeFile(join(dir, 'afile'), '');
    await expect(withAtomicOutput(join(dir, 'adir'), tool)).rejects.toThrow(`cannot write ${join(dir, 'adir')}: it is a directory`);
    await expect(withAtomicOutput(join(dir, 'nodir', 'o.csv'), tool)).rejects.toThrow(`cannot write ${join(dir, 'nodir', 'o.csv')}: directory ${join(dir, 'nodir')} does not exist`);
    await expect(withAtomicOutput(join(dir, 'afile', 'o.csv'), tool)).rejects.toThrow(`cannot write ${join(dir, 'afile', 'o.csv')}: a parent of it is not a directory (${join(dir, 'afile')})`);
    expect(ran).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['adir', 'afile']);
  });

  it('errors about other files (an unreadable input) and bad-data errors pass unchanged', async () => {
    const input = sysError('ENOENT', 'open', join(dir, 'in.csv'));
    await expect(withAtomicOutput(join(dir, 'o.csv'), () => Promise.reject(input))).rejects.toBe(input);
    const bad = new Error('in.csv, line 3: bad label');
    await expect(withAtomicOutput(join(dir, 'o.csv'), () => Promise.reject(bad))).rejects.toBe(bad);
    expect(await readdir(dir)).toEqual([]);
  });

  it('several outputs appear together or not at all', async () => {
    const [a, b] = [join(dir, 'a.csv'), join(dir, 'b.csv')];
    await writeFile(a, 'old a');
    await expect(
      withAtomicOutputs([a, b], async ([ta, tb]) => {
        await writeFile(ta!, 'new a');
        await writeFile(tb!, 'new b');
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(await readdir(dir)).toEqual(['a.csv']);
    expect(await readFile(a, 'utf8')).toBe('old a');
    // A directory at the second target is found before the first is replaced.
    await mkdir(b);
    await expect(withAtomicOutputs([a, b], async (tmps) => Promise.all(tmps.map((t) => writeFile(t, 'new'))))).rejects.toThrow(`cannot write ${b}: it is a directory`);
    expect(await readFile(a, 'utf8')).toBe('old a');
    expect((await readdir(dir)).sort()).toEqual(['a.csv', 'b.csv']);
  });
});

describe('withStagedOutputs (files that name each other, checked before they replace anything)', () => {
  it('stages the files under their own names, publishes what was written and removes the stale companion', async () => {
    const [data, model] = [join(dir, 'm.onnx.data'), join(dir, 'm.onnx')];
    await withStagedOutputs([data, model], async ([d, m]) => {
      expect(d).toBe(join(dirname(m!), 'm.onnx.data')); // one staging directory, final names: references between them hold
      expect(dirname(m!)).not.toBe(dir);
      await writeFile(d!, 'weights');
      await writeFile(m!, 'graph');
    });
    expect(await readFile(model, 'utf8')).toBe('graph');
    expect(await readFile(data, 'utf8')).toBe('weights');
    await withStagedOutputs([data, model], async ([, m]) => writeFile(m!, 'inline'));
    expect((await readdir(dir)).sort()).toEqual(['m.onnx']);
    expect(await readFile(model, 'utf8')).toBe('inline');
    expect(liveTemps()).toEqual([]);
  });

  it('leaves every path as it was, and no staging directory, when the check fails', async () => {
    const [data, model] = [join(dir, 'm.onnx.data'), join(dir, 'm.onnx')];
    await writeFile(data, 'old weights');
    await writeFile(model, 'old graph');
    await expect(
      withStagedOutputs([data, model], async ([d, m]) => {
        await writeFile(d!, 'new weights');
        await writeFile(m!, 'new graph');
        throw new Error('verification failed');
      }),
    ).rejects.toThrow('verification failed');
    expect(await readFile(model, 'utf8')).toBe('old graph');
    expect(await readFile(data, 'utf8')).toBe('old weights');
    expect((await readdir(dir)).sort()).toEqual(['m.onnx', 'm.onnx.data']);
    expect(liveTemps()).toEqual([]);
  });

  it('names a failed write by the output path, never the staged one', async () => {
    const [data, model] = [join(dir, 'm.onnx.data'), join(dir, 'm.onnx')];
    const err = (await withStagedOutputs([data, model], async ([d, m]) => {
      await writeFile(d!, 'weights');
      throw new WriteError(m!, 'no space left on device', { code: 'ENOSPC' });
    }).catch((e: unknown) => e)) as WriteError;
    expect(err).toBeInstanceOf(WriteError);
    expect(err.message).toBe(`cannot write ${model}: no space left on device`);
    expect(err.code).toBe('ENOSPC');
    const sys = (await withStagedOutputs([data, model], async ([d]) => {
      throw sysError('ENOSPC', 'write', d);
    }).catch((e: unknown) => e)) as WriteError;
    expect(sys.message).toBe(`cannot write ${data}: no space left on device`);
    expect(await readdir(dir)).toEqual([]);
  });
});

/** The pid of a process that has exited: spawned, waited for. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

/** What a writer started by startWriter does once its temp exists: prints the temp's path, then waits (until killed). */
const HANG = 'console.log(tmp); await new Promise(() => setInterval(() => undefined, 1000));';

/**
 * Starts `body` (ESM, with `fs` this folder's index and node's `writeFile`) in a child process; resolves once the
 * child has printed its temp's path (HANG), with the child and its exit (code, signal) still to come.
 */
async function startWriter(body: string): Promise<{ child: ChildProcess; tmp: string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }> {
  const module = fileURLToPath(new URL('./index.ts', import.meta.url));
  const script = `const fs = await import(${JSON.stringify(module)}); const { writeFile } = await import('node:fs/promises'); ${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const tmp = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    void exited.then(({ code }) => reject(new Error(`child exited early (${code})`)));
  });
  return { child, tmp, exited };
}

/** Starts a writer (startWriter) and kills it with SIGKILL (no cleanup can run) once its temp exists; the temp's path. */
async function killedWriter(body: string): Promise<string> {
  const { child, tmp, exited } = await startWriter(body);
  child.kill('SIGKILL');
  expect((await exited).signal).toBe('SIGKILL');
  return tmp;
}

describe('signals', () => {
  it('SIGTERM with another listener: temps are removed, the listener decides (no exit)', async () => {
    const f = join(dir, 'out.csv');
    let heard = false;
    const listener = () => (heard = true);
    process.on('SIGTERM', listener);
    try {
      await withAtomicOutput(f, async (tmp) => {
        await writeFile(tmp, 'partial');
        expect(liveTemps()).toEqual([tmp]);
        process.emit('SIGTERM', 'SIGTERM');
        expect(heard).toBe(true);
        expect(await readdir(dir)).toEqual([]);
        await writeFile(tmp, 'late'); // the interrupted work goes on here; a real program would be stopping
      });
    } finally {
      process.removeListener('SIGTERM', listener);
    }
    expect(liveTemps()).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });

  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} during a write: the temp file is removed and the process exits ${status}`, async () => {
      const writer = await startWriter(`await fs.withAtomicOutput(${JSON.stringify(join(dir, 'out.csv'))}, async (tmp) => { await writeFile(tmp, 'partial'); ${HANG} });`);
      expect(writer.tmp.startsWith(join(dir, '.out.csv.tmp-'))).toBe(true);
      writer.child.kill(signal);
      expect((await writer.exited).code).toBe(status);
      expect(await readdir(dir)).toEqual([]);
    });
  }
});

describe('temps left by a killed writer', () => {
  it('SIGKILL leaves the temp file; the next write of that output removes it', async () => {
    const f = join(dir, 'out.csv');
    const tmp = await killedWriter(`await fs.withAtomicOutput(${JSON.stringify(f)}, async (tmp) => { await writeFile(tmp, 'partial'); ${HANG} }, { suffix: '.csv' });`);
    expect(await readdir(dir)).toEqual([tmp.slice(dir.length + 1)]);
    await writeFileAtomic(f, 'done');
    expect(await readdir(dir)).toEqual(['out.csv']);
  });

  it('SIGKILL leaves the temp directory of a directory swap (data encode, an artifact); the next swap removes it', async () => {
    const d = join(dir, 'train.enc');
    const tmp = await killedWriter(`await fs.replaceDirAtomically(${JSON.stringify(d)}, async (tmp) => { await writeFile(tmp + '/part.bin', 'partial'); ${HANG} });`);
    expect(tmp.startsWith(join(dir, '.train.enc.tmp-'))).toBe(true);
    await replaceDirAtomically(d, (t) => writeFile(join(t, 'f'), 'new'));
    expect((await readdir(dir)).sort()).toEqual(['train.enc']);
  });

  it("only dead processes' temps of the same output go: a running pid's, another output's and a set-aside directory stay", async () => {
    const dead = await deadPid();
    const keep = [
      `.out.csv.tmp-${process.ppid}-0123abcd.csv`, // a running process: maybe a live writer
      `.other.csv.tmp-${dead}-0123abcd`, // another output
      `.out.csv.old-${dead}-0123abcd`, // a set-aside directory readers fall back to
      `.out.csv.tmp-notapid`,
    ];
    const gone = [`.out.csv.tmp-${dead}-0123abcd`, `.out.csv.tmp-${dead}-89abcdef.csv`];
    for (const name of [...keep, ...gone]) await writeFile(join(dir, name), 'x');
    await mkdir(join(dir, `.out.csv.tmp-${dead}-00000000`));
    await writeFile(join(dir, `.out.csv.tmp-${dead}-00000000`, 'inner'), 'x');
    // Every way a temp is named sweeps: an AtomicOutput used directly (the table writer) as well as writeFileAtomic.
    const out = new AtomicOutput(join(dir, 'out.csv'), { suffix: '.csv' });
    await out.discard();
    expect((await readdir(dir)).sort()).toEqual([...keep].sort());
  });
});
