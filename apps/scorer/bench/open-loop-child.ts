/**
 * The open-loop generator in a process of its own (openLoopInChild in
 * support.ts starts it): a fresh, small heap, so neither the bench's own
 * garbage collection (its heap holds every earlier section's results) nor
 * its other work delays a send or the reading of an answer. Takes one
 * message { url, bodies, headers, rate, seconds }, answers with the result
 * and its own CPU seconds, and exits.
 */
import { openLoop, type OpenLoopResult } from './support.js';

export interface OpenLoopTask {
  url: string;
  bodies: Uint8Array[];
  headers: Record<string, string>;
  rate: number;
  seconds: number;
}

export interface OpenLoopReply {
  result: OpenLoopResult;
  /** This process's CPU (user + system) over the open loop. */
  cpuSeconds: number;
}

process.once('message', (task: OpenLoopTask) => {
  const cpu0 = process.cpuUsage();
  void openLoop(task.url, task.bodies, task.headers, task.rate, task.seconds).then((result) => {
    const cpu = process.cpuUsage(cpu0);
    const reply: OpenLoopReply = { result, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
    process.send!(reply, () => process.exit(0));
  });
});
