import { runCli } from '@esm2/cli-kit';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { trainerProgram } from './program.js';

afterEach(() => {
  process.exitCode = undefined;
});

/** esm2-train in-process: its exit code and what it printed (whitespace runs folded, as help wraps lines). */
async function run(...args: string[]) {
  let out = '';
  let err = '';
  const program = trainerProgram().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  const code = await runCli(program, { name: 'esm2-train', version: '9.9.9', args });
  return { code, out: out.replace(/\s+/g, ' '), err: err.replace(/\s+/g, ' ') };
}

describe('esm2-train command line', () => {
  it('no arguments: the help, exit 0; --version', async () => {
    const none = await run();
    expect(none.code).toBe(0);
    expect(none.out).toMatch(/Usage: esm2-train \[options\] \[command\]/);
    for (const c of ['data', 'fit', 'eval', 'export', 'help']) expect(none.out).toContain(` ${c} `);
    expect(await run('--version')).toMatchObject({ code: 0, out: '9.9.9 ' });
  });

  it('fit --help shows a default for every setting, the loss weights flag and an example config that exists', async () => {
    const { code, out } = await run('fit', '--help');
    expect(code).toBe(0);
    for (const d of ['--epochs <n> epochs to train (default: 3)', '--batch-size <n> rows per step (default: 1024)', '(default: 0.001)', '(default: 256,128,64)', '(default: 16)', '(default: 100000)', '(default: onnx)']) {
      expect(out).toContain(d);
    }
    expect(out).toContain('--loss-weights <ctr,ctavr,ctcvr> weights of the CTR, CTAVR and CTCVR losses (default: 1,1,1)');
    const example = /Commented example: (\S+\.yaml)/.exec(out)?.[1];
    expect(example).toBeDefined();
    expect(existsSync(example!)).toBe(true);
  });

  it('compare --help: defaults as a user types them, --epochs with its default, each default once', async () => {
    const { code, out } = await run('compare', '--help');
    expect(code).toBe(0);
    expect(out).toContain('(default: esm2,esmm,dnn,dnn-os,gbdt)');
    expect(out).toContain('(default: 1,2,3)');
    expect(out).not.toMatch(/"name"|\[1, ?2, ?3\]/); // no raw JSON of the parsed defaults
    expect(out).toMatch(/--epochs <n> epochs of every deep model \(default: the --config file's train\.epochs, else fit's 3\)/);
    const parallel = /--parallel <n> (.*?) --bootstrap/.exec(out)?.[1] ?? '';
    expect(parallel.match(/default/g)).toHaveLength(1);
  });

  it('replay --help: the modes\' default as a user types it, fit\'s defaults for the training flags', async () => {
    const { code, out } = await run('replay', '--help');
    expect(code).toBe(0);
    expect(out).toContain('--modes <list> comma-separated, from incremental, retrain, frozen (default: incremental,retrain,frozen)');
    expect(out).not.toMatch(/\[ ?"incremental"/); // no raw JSON of the parsed default
    expect(out).toContain('--window <days> days a retrain run trains on (default: 7)');
    expect(out).toContain('--epochs <n> epochs of every run (default: 3)');
  });

  it('data import: one subcommand per format, each listing only its own flags; a flag of the other format is refused', async () => {
    const ub = await run('data', 'import', 'userbehavior', '--help');
    expect(ub.out).toMatch(/Usage: esm2-train data import userbehavior \[options\]/);
    expect(ub.out).toContain('--in <file>');
    expect(ub.out).toContain('--on-bad-row <mode>');
    expect(ub.out).not.toContain('--common');
    const ali = await run('data', 'import', 'aliccp', '--help');
    expect(ali.out).toContain('--common <file> the raw release only');
    const wrong = await run('data', 'import', 'userbehavior', '--in', 'ub.csv', '--out', 'x.csv', '--common', 'c.csv');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toBe("esm2-train: unknown option '--common' (run 'esm2-train data import userbehavior --help' for usage) ");
    const format = await run('data', 'import', 'criteo', '--in', 'a');
    expect(format.code).toBe(1);
    expect(format.err).toMatch(/unknown command 'criteo'/);
  });

  it('a bad --loss-weights value is refused by the parser, naming what is expected', async () => {
    const r = await run('fit', '--out', 'runs/x', '--loss-weights', '1,2');
    expect(r.code).toBe(1);
    expect(r.err).toContain("esm2-train: option '--loss-weights <ctr,ctavr,ctcvr>' argument '1,2' is invalid. expected three comma-separated weights ≥ 0");
  });

  it('compare --paper is the paper\'s architecture and start: a contradicting --interaction or --init is refused', async () => {
    const base = ['compare', '--train', 'no.csv', '--test', 'no.csv', '--out', 'runs/never', '--paper'];
    const dot = await run(...base, '--interaction', 'dot');
    expect(dot.code).toBe(1);
    expect(dot.err).toContain('--paper means --interaction none, not dot');
    const calibrated = await run(...base, '--init', 'calibrated');
    expect(calibrated.code).toBe(1);
    expect(calibrated.err).toContain('--paper means --init paper, not calibrated');
    expect(existsSync('runs/never')).toBe(false);
  });
});
