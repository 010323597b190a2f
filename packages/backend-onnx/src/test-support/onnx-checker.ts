import { spawnSync } from 'node:child_process';

/**
 * Debian's python3-onnx (ONNX 1.12) lives under /usr/bin/python3, not the
 * pyenv python on PATH. full_check=True adds strict shape inference.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const CHECK = `
import sys, onnx
for p in sys.argv[1:]:
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
print("checked", len(sys.argv) - 1)
`;

/** Runs the official ONNX checker on each file; throws with the checker's message on the first failure. */
export function checkOnnxFiles(paths: string[]): void {
  const run = spawnSync(SYSTEM_PYTHON, ['-c', CHECK, ...paths], { encoding: 'utf8' });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`onnx.checker rejected a model:\n${run.stderr}`);
  if (!run.stdout.includes(`checked ${paths.length}`)) throw new Error(`onnx.checker did not run: ${run.stdout}${run.stderr}`);
}

/** Runs a Python snippet with the system onnx and returns its stdout. */
export function runSystemPython(code: string, args: string[] = []): string {
  const run = spawnSync(SYSTEM_PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`python failed:\n${run.stderr}`);
  return run.stdout;
}
