/** What the scorer's benches share: the serve child process, /proc readings, percentiles, the load average. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';

/** The 1-minute load average, padded for a table column. */
export const load = () => loadavg()[0]!.toFixed(1).padStart(5);

/** The p-th percentile of ascending `sorted`. */
export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/** utime + stime of a process from /proc/PID/stat, in seconds (Linux only). */
export function procCpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // USER_HZ, which /proc counts in, is 100 on every Linux this runs on (getconf CLK_TCK).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
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
  const listening = nextLine(/ on (http:\/\/\S+) with/);
  const url = await Promise.race([
    listening.then((m) => m[1]!),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`esm2-score serve exited with ${String(code)} before listening`))),
  ]);
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
