/** What the scorer's benches share: the serve child process, /proc and rusage readings, percentiles, the load average, HTTP clients (one request, open loop). */
import { fork, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The 1-minute load average, padded for a table column. */
export const load = () => loadavg()[0]!.toFixed(1).padStart(5);

/** The p-th percentile of ascending `sorted`. */
export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/** utime + stime of a process from /proc/PID/stat, in seconds (Linux only). */
export function procCpuSeconds(pid: number | undefined): number | undefined {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** utime + stime from a /proc stat file (a process's or one thread's), in seconds; undefined when it cannot be read. */
function statCpuSeconds(path: string): number | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // USER_HZ, which /proc counts in, is 100 on every Linux this runs on (getconf CLK_TCK).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** utime + stime of each thread of a process (by thread id), from /proc/PID/task/TID/stat, in seconds (Linux only; empty elsewhere). */
export function procThreadCpuSeconds(pid: number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const seconds = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (seconds !== undefined) out.set(Number(tid), seconds);
  }
  return out;
}

/** Resident set size of a process in bytes, from /proc/PID/status (Linux only). */
export function procRssBytes(pid: number | undefined): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface Server {
  url: string;
  child: ChildProcessWithoutNullStreams;
  /** CPU seconds the serve process (all its threads) has used so far; undefined where /proc is not there. */
  cpuSeconds(): number | undefined;
  /** Resolves with the next stdout line matching `pattern` (lines printed before the call are not seen). */
  nextLine(pattern: RegExp): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

/** How long a serve process may take to load its model and start listening (minutes on a loaded machine, never this). */
const START_TIMEOUT_S = 300;

/** `esm2-score serve ARGS` (`cli`: the CLI's source file) in a child process, once it says where it listens. */
export async function serve(cli: string, args: string[], nodeArgs: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', cli, 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] }) as unknown as ChildProcessWithoutNullStreams;
  const lines = createInterface({ input: child.stdout });
  const waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  lines.on('line', (line) => {
    for (const w of [...waiters]) {
      const m = w.pattern.exec(line);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const nextLine = (pattern: RegExp) => new Promise<RegExpExecArray>((resolve) => waiters.push({ pattern, resolve }));
  // The start-up line: "… on URL with N worker(s)", or "… on URL scoring on the HTTP thread" at --workers 0.
  const listening = nextLine(/ on (http:\/\/\S+) (?:with|scoring on)/);
  // A serve that never says where it listens (a changed start-up line, a hang) stops the bench instead of holding it.
  let timer: NodeJS.Timeout | undefined;
  const url = await Promise.race([
    listening.then((m) => m[1]!),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`esm2-score serve exited with ${String(code)} before listening`))),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`esm2-score serve ${args.join(' ')}: no "… on http://…" start-up line within ${START_TIMEOUT_S} s`));
      }, START_TIMEOUT_S * 1000);
    }),
  ]).finally(() => clearTimeout(timer));
  return {
    url,
    child,
    cpuSeconds: () => procCpuSeconds(child.pid),
    nextLine,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds this process has used so far, all its threads (getrusage RUSAGE_SELF, µs resolution). */
export function selfCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CLOCK_MONOTONIC in µs: the clock V8's CPU profiles time their samples on, in every process. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/** The rows of each session run the serve process has made so far (its batch-rows histogram, summed over model versions). */
export async function batchStats(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  // Summed over the series of every model version (and the unlabelled series of servers before versions).
  const num = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return { sum: num('esm2_scorer_batch_rows_sum'), count: num('esm2_scorer_batch_rows_count') };
}

/** One HTTP request; resolves with the status code once the whole response has been read. */
export function post(agent: Agent, url: string, body: Uint8Array, headers: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface TimedRun {
  code: number | null;
  /** Wall, user and system seconds of the child and everything it waited for (GNU time: wait4's rusage, all threads). */
  wall: number;
  cpu: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` under GNU time (/usr/bin/time -f), which reads the child's rusage as it is reaped: every thread's CPU, to the end. */
export async function timedRun(command: string[], cwd?: string): Promise<TimedRun> {
  const dir = await mkdtemp(join(tmpdir(), 'esm2-time-'));
  try {
    const out = join(dir, 'time.txt');
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S', '-o', out, ...command], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const [code] = (await once(child, 'exit')) as [number | null];
    const [wall, user, sys] = (await readFile(out, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number];
    return { code, wall, cpu: user + sys, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const hasGnuTime = () => existsSync('/usr/bin/time');

export interface OpenLoopResult {
  offered: number;
  /** Responses received per second, over the time from the first scheduled send to the last response. */
  achieved: number;
  sent: number;
  /** Latencies in ms from each request's scheduled instant to its response's end, ascending. */
  latencies: number[];
  errors: number;
  /** Most requests in flight at once (= sockets the agent needed). */
  maxInFlight: number;
  /** Sends that left more than 1 ms after their scheduled instant (the generator fell behind). */
  late: number;
}

/**
 * Open-loop load: requests leave at scheduled instants (`rate` per second
 * for `seconds`), whatever is still in flight, each on a free keep-alive
 * socket (the agent opens another when none is free, so a send never waits
 * for an answer); each latency is counted from the request's scheduled
 * instant (no coordinated omission). Bodies are sent in turn.
 */
export async function openLoop(url: string, bodies: readonly Uint8Array[], headers: Record<string, string>, rate: number, seconds: number): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let errors = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let late = 0;
  let lastEnd = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now() + 20;
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * interval <= now) {
        const scheduled = t0 + next * interval;
        if (now - scheduled > 1) late++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        pending.push(
          post(agent, url, bodies[next % bodies.length]!, headers).then(
            (status) => {
              if (status !== 200) errors++;
              lastEnd = performance.now();
              latencies.push(lastEnd - scheduled);
              inFlight--;
            },
            () => {
              errors++;
              inFlight--;
            },
          ),
        );
        next++;
      }
      if (next >= total) return done();
      setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { offered: rate, achieved: (latencies.length * 1000) / Math.max(1, lastEnd - t0), sent: total, latencies, errors, maxInFlight, late };
}

/**
 * openLoop in a child process of its own (bench/open-loop-child.ts): its
 * sends and the reading of answers are not held up by this process's
 * garbage collection or other work. Resolves with the result and the
 * child's CPU seconds over the loop.
 */
export async function openLoopInChild(url: string, bodies: readonly Uint8Array[], headers: Record<string, string>, rate: number, seconds: number): Promise<{ result: OpenLoopResult; cpuSeconds: number }> {
  const child = fork(new URL('./open-loop-child.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reply = new Promise<{ result: OpenLoopResult; cpuSeconds: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { result: OpenLoopResult; cpuSeconds: number }));
    child.once('exit', (code) => reject(new Error(`the open-loop child exited with ${String(code)} before answering`)));
  });
  child.send({ url, bodies: [...bodies], headers, rate, seconds });
  return reply;
}
