/**
 * Docs that cannot drift. Runs every command block of README.md and
 * docs/*.md marked runnable, in order, in one scratch directory on small
 * generated data, and regenerates the sample outputs the docs show:
 *
 *   <!-- runnable -->             the ```sh block below runs (bash -eo pipefail);
 *   <!-- runnable: background --> the block below is a server: started, waited
 *                                  for (its first http:// line), stopped at the
 *                                  end of its file;
 *   <!-- runnable: shared-data --> the block reads ../shared/data (the samples
 *                                  beside a clone on this project's machines):
 *                                  skipped, saying so, where there is none;
 *   <!-- generated:NAME -->       after a runnable block (prose may come between,
 *   ```…```                       no other code block): what that block printed,
 *   <!-- /generated:NAME -->      as a fenced block (JSON pretty-printed
 *                                 compactly), rewritten by this script.
 *
 * `pnpm esm2-train` / `pnpm esm2-score` in a block are this checkout's CLIs
 * run in the scratch directory; port 8080 becomes a free port. Before the
 * blocks, the scratch directory gets the model `pnpm main-job` leaves, small
 * (runs/main-job/{train.parquet,esm2/,esm2.onnx}): 20,000 generated rows
 * trained one epoch on one onnx session, so its scores and version are the
 * same on every run of this script.
 *
 *   tsx scripts/docs-check.ts           run the blocks; exit 1 (with a diff) when
 *                                       a generated region differs from the docs
 *   tsx scripts/docs-check.ts --write   run the blocks and rewrite the regions
 *
 * KEEP=1 keeps the scratch directory; DOCS_CHECK_SETUP=DIR takes the setup's
 * runs/ from a kept one instead of making it again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The data samples beside the clone (/work/shared/data next to /work/main). */
const sharedData = join(root, '../shared/data');
const write = process.argv.includes('--write');
const tsx = join(root, 'node_modules/.bin/tsx');
// Generous: a block is a few CLI runs, each slow to start on a loaded machine; a hung block still ends.
const BLOCK_TIMEOUT_MS = 900_000;

/** The CLIs as `pnpm esm2-train` runs them, but in the working directory (a bash prelude for every block). */
const PRELUDE = `pnpm() {
  case "$1" in
    esm2-train) shift; "${tsx}" "${root}apps/trainer/src/cli.ts" "$@" ;;
    esm2-score) shift; "${tsx}" "${root}apps/scorer/src/cli.ts" "$@" ;;
    *) echo "docs-check: only pnpm esm2-train / esm2-score run in a doc block, not: pnpm $*" >&2; return 2 ;;
  esac
}
`;

interface Block {
  /** Line of the opening fence (1-based), for messages. */
  line: number;
  code: string;
  kind?: 'background' | 'shared-data';
  /** The generated region right after the block, if any. */
  region?: { name: string; start: number; end: number };
}

/** The runnable blocks of a markdown text, with the generated region that follows each. */
export function runnableBlocks(text: string, file: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const mark = /^<!-- runnable(?:: (background|shared-data))? -->$/.exec(lines[i]!);
    if (!mark) continue;
    const open = i + 1;
    if (!/^```(sh|bash)$/.test(lines[open] ?? '')) throw new Error(`${file}:${i + 1}: <!-- runnable --> is not followed by a \`\`\`sh block`);
    const close = lines.findIndex((l, j) => j > open && l === '```');
    if (close < 0) throw new Error(`${file}:${open + 1}: unclosed code block`);
    const block: Block = { line: open + 1, code: lines.slice(open + 1, close).join('\n'), ...(mark[1] ? { kind: mark[1] as Block['kind'] } : {}) };
    // Its output region: the next generated marker, before any other code block (prose may come between).
    let next = close + 1;
    while (next < lines.length && !/^(```|<!-- runnable|<!-- generated:)/.test(lines[next]!)) next++;
    const gen = /^<!-- generated:([\w-]+) -->$/.exec(lines[next] ?? '');
    if (gen) {
      const name = gen[1]!;
      const end = lines.findIndex((l, j) => j > next && l === `<!-- /generated:${name} -->`);
      if (end < 0) throw new Error(`${file}:${next + 1}: <!-- generated:${name} --> has no <!-- /generated:${name} -->`);
      block.region = { name, start: next, end };
    }
    blocks.push(block);
    i = close;
  }
  return blocks;
}

/** JSON as people write it in docs: a value on one line when it fits in `width`, else one member per line. */
export function compactJson(value: unknown, indent = '', width = 130): string {
  const flat = JSON.stringify(value);
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= width) return flat;
  const inner = indent + '  ';
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + compactJson(v, inner, width)).join(',\n')}\n${indent}]`;
  return `{\n${Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner, width)}`).join(',\n')}\n${indent}}`;
}

/** A block's output as the docs show it: JSON lines pretty-printed, anything else as printed. */
function formatOutput(out: string): string {
  const lines = out.replace(/\s+$/, '').split('\n');
  return lines
    .map((l) => {
      if (!/^[[{]/.test(l)) return l;
      try {
        return compactJson(JSON.parse(l));
      } catch {
        return l;
      }
    })
    .join('\n');
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const freePort = () =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });

function runBlock(code: string, cwd: string, where: string): string {
  const r = spawnSync('bash', ['-eo', 'pipefail', '-c', PRELUDE + code], { cwd, encoding: 'utf8', timeout: BLOCK_TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${where}: the block exited ${r.status ?? r.signal}:\n${code}\n--- stderr:\n${r.stderr}\n--- stdout:\n${r.stdout}`);
  return r.stdout;
}

/** Starts a server block; resolves once it printed its address, rejects if it exits first. */
function startBackground(code: string, cwd: string, where: string): Promise<ChildProcess> {
  const child = spawn('bash', ['-eo', 'pipefail', '-c', PRELUDE + code], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${where}: the server printed no address in ${BLOCK_TIMEOUT_MS / 1000} s:\n${log}`)), BLOCK_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      log += String(d);
      if (/http:\/\/[\d.:]+/.test(log)) {
        clearTimeout(timer);
        res(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (c, s) => {
      clearTimeout(timer);
      rej(new Error(`${where}: the server exited (${c ?? s}) before listening:\n${log}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

/** The model `pnpm main-job` leaves in runs/main-job, small and reproducible (one onnx session: the same weights every run). */
const SETUP = `
out=runs/main-job
mkdir -p $out
pnpm esm2-train data generate --rows 20000 --seed 1 --world-seed 7 --truth --out $out/train.parquet
pnpm esm2-train fit --data $out/train.parquet --model esm2 --out $out/esm2 --epochs 1 --workers 1 --threads 1 >/dev/null
pnpm esm2-train export --model $out/esm2 --onnx $out/esm2.onnx >/dev/null
`;

async function main(): Promise<void> {
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  // The blocks run in scratch/clone, with scratch/shared/data the samples beside the clone, as in a checkout.
  const top = mkdtempSync(join(tmpdir(), 'esm2-docs-check-'));
  const scratch = join(top, 'clone');
  mkdirSync(scratch);
  if (existsSync(sharedData)) {
    mkdirSync(join(top, 'shared'));
    symlinkSync(sharedData, join(top, 'shared/data'));
  }
  const t0 = performance.now();
  const seconds = () => ((performance.now() - t0) / 1000).toFixed(0);
  const changed: { file: string; text: string }[] = [];
  try {
    console.log(`docs-check: scratch ${scratch}; the main job's model, small`);
    if (process.env.DOCS_CHECK_SETUP) runBlock(`cp -r ${JSON.stringify(process.env.DOCS_CHECK_SETUP)}/runs .`, scratch, 'setup (copied)');
    else runBlock(SETUP, scratch, 'setup');
    const port = await freePort();
    for (const file of docs) {
      const text = readFileSync(join(root, file), 'utf8');
      const blocks = runnableBlocks(text, file);
      if (blocks.length === 0) continue;
      const lines = text.split('\n');
      const servers: ChildProcess[] = [];
      const replacements: { start: number; end: number; body: string[] }[] = [];
      try {
        for (const b of blocks) {
          const where = `${file}:${b.line}`;
          const code = b.code.replaceAll('8080', String(port));
          console.log(`docs-check: ${where}${b.kind ? ` (${b.kind})` : ''} [${seconds()} s]`);
          if (b.kind === 'shared-data' && !existsSync(sharedData)) {
            console.log(`docs-check: ${where}: skipped, no ${sharedData}`);
            continue;
          }
          if (b.kind === 'background') {
            servers.push(await startBackground(code, scratch, where));
            continue;
          }
          const out = runBlock(code, scratch, where);
          if (b.region) {
            const shown = formatOutput(out.replaceAll(`127.0.0.1:${port}`, '127.0.0.1:8080'));
            const lang = isJson(shown) ? 'json' : '';
            replacements.push({ start: b.region.start, end: b.region.end, body: ['```' + lang, ...shown.split('\n'), '```'] });
          }
        }
      } finally {
        for (const s of servers) await stop(s);
      }
      // Rewrite the regions from the last up, so earlier line numbers hold.
      for (const r of replacements.sort((a, b) => b.start - a.start)) lines.splice(r.start + 1, r.end - r.start - 1, ...r.body);
      const updated = lines.join('\n');
      if (updated !== text) changed.push({ file, text: updated });
    }
    console.log(`docs-check: every runnable block ran [${seconds()} s]`);
    if (changed.length === 0) return console.log('docs-check: the generated samples match the docs');
    if (write) {
      for (const c of changed) writeFileSync(join(root, c.file), c.text);
      return console.log(`docs-check: rewrote ${changed.map((c) => c.file).join(', ')}`);
    }
    for (const c of changed) {
      const fresh = join(scratch, `${c.file.replaceAll('/', '_')}.generated`);
      writeFileSync(fresh, c.text);
      spawnSync('git', ['--no-pager', 'diff', '--no-index', '--', join(root, c.file), fresh], { stdio: 'inherit' });
    }
    console.error(`docs-check: FAILED: the generated samples in ${changed.map((c) => c.file).join(', ')} differ from what the code produces; run \`pnpm docs:samples\` and commit`);
    process.exitCode = 1;
  } finally {
    if (process.env.KEEP === '1') console.log(`docs-check: kept ${top}`);
    else rmSync(top, { recursive: true, force: true });
  }
}

await main();
