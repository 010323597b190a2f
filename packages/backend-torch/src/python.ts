/**
 * Starting python: the package's modules (`python -m esm2_torch.…`) on one
 * process or under torchrun, with the environment torch runs best in, and
 * their failures turned into TorchMissingError / TorchRunError.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pythonPath, runCommand } from '@esm2/core/node';
import { TorchMissingError, TorchRunError } from './errors.js';
import { resolveLaunch, type TorchLaunch } from './launch.js';
import { openblasCoretype } from './openblas.js';

/** Debian's interpreter (where `apt-get install python3-torch` puts torch), kept here for the package's API. */
export { DEFAULT_PYTHON } from '@esm2/core/node';

/** The Python package's directory, shipped beside the build (`python/` is a sibling of both `src/` and `dist/`). */
export const PYTHON_DIR = fileURLToPath(new URL('../python', import.meta.url));

/** esm2_torch.run's exit code when torch (or numpy) cannot be imported. */
const EXIT_NO_TORCH = 3;

export interface TorchOptions {
  /** The python to run; default ESM2_PYTHON, else /usr/bin/python3. */
  python?: string;
  signal?: AbortSignal;
}

/** The python runs use: the option, else ESM2_PYTHON, else Debian's /usr/bin/python3. */
export function torchPython(options: TorchOptions = {}): string {
  return pythonPath(options.python);
}

export interface PythonModuleOptions extends TorchOptions {
  /** Run the module's ranks under torchrun; without it, one python process. */
  launch?: TorchLaunch;
  /** Each line the module (rank 0 under torchrun: torchrun's `[default0]:` prefix removed) prints on stdout. */
  onLine?: (line: string, rank: number) => void;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/**
 * Runs `python -m MODULE ARGS…` of the package's python directory (on
 * PYTHONPATH) — under torchrun with `options.launch` — and resolves when it
 * exits 0. Failures reject with TorchMissingError (no python or no torch)
 * or TorchRunError (the last `esm2_torch:` line of stderr, and its tail).
 */
export async function runPythonModule(module: string, args: string[], options: PythonModuleOptions = {}): Promise<void> {
  const python = torchPython(options);
  options.signal?.throwIfAborted();
  const pythonPath = [PYTHON_DIR, process.env.PYTHONPATH].filter(Boolean).join(':');
  let argv = ['-m', module, ...args];
  let logDir: string | undefined;
  let tempLogs: string | undefined;
  if (options.launch) {
    const launch = await resolveLaunch(options.launch);
    logDir = launch.logDir ?? (tempLogs = await mkdtemp(join(tmpdir(), 'esm2-torchrun-')));
    // -r 1 -t 1: stdout to each rank's log and to the console, prefixed [defaultN]: (torchrun's default redirects crash on Python 3.11).
    argv = [
      '-m', 'torch.distributed.run', '-r', '1', '-t', '1', '--log_dir', logDir,
      '--nproc_per_node', String(launch.nprocPerNode), '--nnodes', String(launch.nnodes), '--node_rank', String(launch.nodeRank),
      '--master_addr', launch.masterAddr, '--master_port', String(launch.masterPort), '--max_restarts', String(launch.maxRestarts),
      ...argv,
    ];
  }
  const kernels = openblasCoretype();
  const coretype = kernels === undefined ? {} : { OPENBLAS_CORETYPE: kernels };
  const onLine = options.onLine;
  try {
    const exit = await runCommand(python, argv, {
      signal: options.signal,
      // torchrun stops its ranks on SIGTERM; SIGKILL would leave them running.
      killSignal: options.launch ? 'SIGTERM' : 'SIGKILL',
      // Ranks take one thread each unless told otherwise (torchrun sets OMP_NUM_THREADS=1 too); OpenBLAS the CPU's kernels.
      env: { OMP_NUM_THREADS: '1', ...coretype, ...process.env, ...options.env, PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: '1' },
      ...(onLine
        ? {
            stdout: (stream) =>
              createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
                const prefixed = /^\[default(\d+)\]:(.*)$/.exec(line);
                if (prefixed) onLine(prefixed[2]!, Number(prefixed[1]));
                else if (!options.launch) onLine(line, 0);
              }),
          }
        : {}),
      cannotStart: (code) => new TorchMissingError(python, `cannot run ${python} (${code})`),
    });
    const { stderr } = exit;
    const lines = stderr.trimEnd().split('\n');
    const ours = lines.filter((l) => l.startsWith('esm2_torch: '));
    // Under torchrun: the first rank to print its error line is the one that failed first (the others then
    // lose their connections to it; torchrun's own "Root Cause" is whichever failure it noticed first).
    const rankLine = ours.map((l) => /^esm2_torch: \[rank (\d+)\] (.*)$/.exec(l)).find((m) => m !== null);
    const last = rankLine ? `rank ${rankLine[1]}: ${rankLine[2]}` : (ours.at(-1) ?? lines.at(-1) ?? '').replace(/^esm2_torch: /, '');
    if (exit.code === EXIT_NO_TORCH || (options.launch && exit.code !== 0 && /No module named '?torch\b|torch cannot be imported/.test(stderr))) {
      throw new TorchMissingError(python, ours.at(-1)?.replace(/^esm2_torch: (\[rank \d+\] )?/, '') || (/No module named '?torch/.test(stderr) ? `torch cannot be imported by ${python}` : last) || 'torch cannot be imported');
    }
    if (exit.code !== 0) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const what = options.launch ? `torchrun (${python} -m torch.distributed.run … -m ${module})` : `${python} -m ${module}`;
      throw new TorchRunError(`torch run failed (${what} ${how})${last ? `: ${last}` : ''}`, stderr);
    }
  } finally {
    if (tempLogs) await rm(tempLogs, { recursive: true, force: true });
  }
}

/** `python -m esm2_torch.run DIR` (under torchrun with `options.launch`). */
export async function runPython(dir: string, options: PythonModuleOptions): Promise<void> {
  await runPythonModule('esm2_torch.run', [dir], options);
}
