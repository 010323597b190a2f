import { runCli } from '@esm2/cli-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { scorerProgram } from './program.js';

afterEach(() => {
  process.exitCode = undefined;
});

async function run(...args: string[]) {
  let out = '';
  let err = '';
  const program = scorerProgram().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  const code = await runCli(program, { name: 'esm2-score', version: '9.9.9', args });
  return { code, out: out.replace(/\s+/g, ' '), err: err.replace(/\s+/g, ' ') };
}

describe('esm2-score command line', () => {
  it('help works as a command and with no arguments, listing score and serve', async () => {
    for (const args of [['help'], []]) {
      const r = await run(...args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: esm2-score \[options\] \[command\]/);
      expect(r.out).toContain(' score [options] ');
      expect(r.out).toContain(' serve [options] ');
    }
  });

  it('score --help is the help of score (its flags, the --keys default), not the top-level help', async () => {
    const r = await run('score', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: esm2-score score \[options\]/);
    expect(r.out).toContain("--keys <columns> comma-separated input columns to copy next to the scores (default: the training data config's keys, else the model's user and item id columns");
    expect(r.out).toContain('--batch-size <n> rows per session run (default: 4096)');
    const serve = await run('help', 'serve');
    expect(serve.out).toMatch(/^Usage: esm2-score serve \[options\]/);
  });

  it('without a command name, flags go to score; missing flags are all named, a misspelt one first', async () => {
    const missing = await run('--data', 'x.csv');
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.err).toMatch(/^esm2-score: missing --model, --out/);
    const command = await run('serv', '--model', 'm');
    expect(command.code).toBe(1);
    expect(command.err).toBe("esm2-score: unknown command 'serv' (commands: score, serve, help) (run 'esm2-score --help' for usage) ");
    const typo = await run('score', '--modle', 'm');
    expect(typo.code).toBe(1);
    expect(typo.err).toMatch(/^esm2-score: unknown option '--modle' \(Did you mean --model\?\)/);
  });

  it('serve --port takes 0…65535 (cli-kit parser): anything else is refused naming the flag and the range, before the model is read', async () => {
    for (const value of ['70000', '-1', '1.5', 'x', '']) {
      const r = await run('serve', '--model', 'nowhere', '--port', value);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`esm2-score: option '--port <n>' argument '${value}' is invalid. expected a port in 0…65535 (run 'esm2-score serve --help' for usage) `);
    }
  });
});
