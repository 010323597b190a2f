import { spawnSync } from 'node:child_process';
import { requiresPythonModule, type Required } from '@esm2/core/testing';

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

let onnx: Required | undefined;

/**
 * Skips the rest of `test` (outside CI) or fails it (under CI=true) when
 * SYSTEM_PYTHON cannot import onnx: @esm2/core/testing's requires() policy.
 */
function needOnnx(test: { skip: (note?: string) => void }): void {
  (onnx ??= requiresPythonModule(SYSTEM_PYTHON, 'onnx')).within(test);
}

/** Runs the official ONNX checker on each file (in `test`, vitest's context); throws with the checker's message on the first failure. */
export function checkOnnxFiles(test: { skip: (note?: string) => void }, paths: string[]): void {
  needOnnx(test);
  const run = spawnSync(SYSTEM_PYTHON, ['-c', CHECK, ...paths], { encoding: 'utf8' });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`onnx.checker rejected a model:\n${run.stderr}`);
  if (!run.stdout.includes(`checked ${paths.length}`)) throw new Error(`onnx.checker did not run: ${run.stdout}${run.stderr}`);
}

/** Runs a Python snippet with the system onnx (in `test`, vitest's context) and returns its stdout. */
export function runSystemPython(test: { skip: (note?: string) => void }, code: string, args: string[] = []): string {
  needOnnx(test);
  const run = spawnSync(SYSTEM_PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`python failed:\n${run.stderr}`);
  return run.stdout;
}
