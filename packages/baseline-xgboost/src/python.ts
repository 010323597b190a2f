import { pythonPath, runCommand } from '@esm2/core/node';
import { fileURLToPath } from 'node:url';

/** The script shipped beside the build (`python/` is a sibling of both `src/` and `dist/`). */
export const SCRIPT = fileURLToPath(new URL('../python/xgb_baseline.py', import.meta.url));

/** The script's exit code when numpy or xgboost cannot be imported. */
const EXIT_NO_XGBOOST = 3;

export const INSTALL_HINT = 'install it with: apt-get install python3-xgboost';

/** XGBoost (or the python running it) is not there; the message names the package to install. */
export class XgboostMissingError extends Error {
  constructor(
    readonly python: string,
    detail: string,
  ) {
    super(`the GBDT baseline needs XGBoost for Python (Debian's python3-xgboost, version 1.7) under ${python}: ${detail}; ${INSTALL_HINT}`);
    this.name = 'XgboostMissingError';
  }
}

/** The script failed; `stderr` holds the end of its output (the python traceback). */
export class XgboostRunError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'XgboostRunError';
  }
}

/** Starts the one line the script prints last on stderr when it fails. */
const SUMMARY = 'xgb_baseline error: ';

export interface RunOptions {
  python?: string;
  signal?: AbortSignal;
}

/**
 * Runs the script on a job file and parses the JSON line it prints. A
 * python traceback becomes the error's message (its last lines); an abort
 * kills the process (SIGKILL: XGBoost inside a C++ loop ignores SIGTERM
 * until the round ends).
 */
export async function runScript(jobPath: string, what: string, options: RunOptions = {}): Promise<unknown> {
  const python = pythonPath(options.python);
  let stdout = '';
  const exit = await runCommand(python, [SCRIPT, jobPath], {
    signal: options.signal,
    killSignal: 'SIGKILL',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    stdout: (stream) => stream.on('data', (s: string) => (stdout += s)),
    cannotStart: (code) => new XgboostMissingError(python, `cannot run ${python} (${code})`),
  });
  const { stderr } = exit;
  if (exit.code === EXIT_NO_XGBOOST) throw new XgboostMissingError(python, stderr.trim() || 'xgboost cannot be imported');
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    // The script ends a failure with one summary line; anything else (a crash) shows the end of stderr.
    const summary = stderr.trimEnd().split('\n').findLast((l) => l.startsWith(SUMMARY));
    const detail = summary ? summary.slice(SUMMARY.length) : lastLines(stderr, 12);
    throw new XgboostRunError(`XGBoost ${what} failed (${python} ${SCRIPT} ${how})${detail ? `: ${detail}` : ''}`, stderr);
  }
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new Error(`XGBoost ${what}: ${SCRIPT} printed no result (stdout: ${JSON.stringify(stdout.slice(-500))})`);
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
