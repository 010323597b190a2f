import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { positiveInt } from './parsers.js';
import { packageVersion, runCli } from './run-cli.js';

afterEach(() => {
  process.exitCode = undefined;
});

/** A small CLI shaped like esm2-train: subcommands, one with a typed flag, one that fails. */
function program() {
  const out: string[] = [];
  const err: string[] = [];
  const ran: unknown[] = [];
  const p = new Command().description('test tool').configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
  p.command('fit')
    .description('train')
    .option('--epochs <n>', 'epochs', positiveInt, 3)
    .action((o: { epochs: number }) => {
      ran.push(o.epochs);
    });
  p.command('boom').action(() => Promise.reject(new Error('/x/y.csv: no such file')));
  return { p, out, err, ran, text: () => ({ out: out.join(''), err: err.join('') }) };
}

const run = (t: ReturnType<typeof program>, args: string[]) => runCli(t.p, { name: 'tool', version: '1.2.3', args });

describe('runCli', () => {
  it('runs a command and exits 0', async () => {
    const t = program();
    expect(await run(t, ['fit', '--epochs', '5'])).toBe(0);
    expect(t.ran).toEqual([5]);
    expect(process.exitCode).toBe(0);
  });

  it('no arguments: help on stdout, exit 0', async () => {
    const t = program();
    expect(await run(t, [])).toBe(0);
    expect(t.text().out).toMatch(/Usage: tool \[options\] \[command\]/);
    expect(t.text().out).toMatch(/fit \[options\]\s+train/);
    expect(t.ran).toEqual([]);
  });

  it('--version and the help subcommand exit 0', async () => {
    const v = program();
    expect(await run(v, ['--version'])).toBe(0);
    expect(v.text().out).toBe('1.2.3\n');
    const h = program();
    expect(await run(h, ['help', 'fit'])).toBe(0);
    expect(h.text().out).toMatch(/Usage: tool fit \[options\]/);
    expect(h.text().out).toMatch(/--epochs <n>\s+epochs \(default: 3\)/);
  });

  it("a subcommand's own --version is the subcommand's: the root's --version comes before any subcommand", async () => {
    const t = program();
    const got: unknown[] = [];
    t.p.command('export').option('--version <n>', 'the version to write', positiveInt).action((o: { version?: number }) => void got.push(o.version));
    expect(await run(t, ['export', '--version', '2'])).toBe(0);
    expect(got).toEqual([2]);
    expect(t.text().out).toBe('');
    const v = program();
    v.p.command('export').option('--version <n>', 'the version to write', positiveInt);
    expect(await run(v, ['--version'])).toBe(0);
    expect(v.text().out).toBe('1.2.3\n');
    const f = program();
    expect(await run(f, ['fit', '--version'])).toBe(1);
    expect(f.text().err).toMatch(/^tool: unknown option '--version'/);
  });

  it('the help subcommand works even when the root command has an action of its own', async () => {
    const t = program();
    t.p.option('--model <m>').action(() => {});
    expect(await run(t, ['help'])).toBe(0);
    expect(t.text().out).toMatch(/Usage: tool/);
  });

  it('unknown commands and flags, bad values: NAME: message, the help hint, exit 1', async () => {
    const a = program();
    expect(await run(a, ['fitt'])).toBe(1);
    expect(a.text().err).toMatch(/^tool: unknown command 'fitt'/);
    expect(a.text().err).toMatch(/\(run 'tool --help' for usage\)/);
    const b = program();
    expect(await run(b, ['fit', '--epoch', '2'])).toBe(1);
    expect(b.text().err).toMatch(/^tool: unknown option '--epoch'/);
    expect(b.text().err).toMatch(/\(run 'tool fit --help' for usage\)/);
    const c = program();
    expect(await run(c, ['fit', '--epochs', '0'])).toBe(1);
    expect(c.text().err).toMatch(/^tool: option '--epochs <n>' argument '0' is invalid\. expected a positive whole number/);
    expect(a.ran.concat(b.ran, c.ran)).toEqual([]);
  });

  it('an error thrown by a command: NAME: message on stderr, exit 1', async () => {
    const t = program();
    expect(await run(t, ['boom'])).toBe(1);
    expect(t.text().err).toBe('tool: /x/y.csv: no such file\n');
    expect(process.exitCode).toBe(1);
  });

  it("a flag parser's InvalidArgumentError thrown inside an action (not by commander's parsing) is printed, exit 1", async () => {
    const t = program();
    t.p.command('late').action(() => {
      positiveInt('0');
    });
    expect(await run(t, ['late'])).toBe(1);
    expect(t.text().err).toBe('tool: expected a positive whole number\n');
    // The same parser on the command line: commander prints it once, with the flag and the hint.
    const u = program();
    expect(await run(u, ['fit', '--epochs', '0'])).toBe(1);
    expect(u.text().err.match(/expected a positive whole number/g)).toHaveLength(1);
  });

  it("a commander error from another copy of commander keeps its exit code and is not printed twice", async () => {
    const t = program();
    t.p.command('foreign').action(() => {
      throw Object.assign(new Error('(outputHelp)'), { code: 'commander.helpDisplayed', exitCode: 0 });
    });
    expect(await run(t, ['foreign'])).toBe(0);
    expect(t.text().err).toBe('');
  });

  it('packageVersion reads the nearest package.json above a module', () => {
    expect(packageVersion(import.meta.url)).toMatch(/^\d+\.\d+\.\d+/);
  });
});
