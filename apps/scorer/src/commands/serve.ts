import type { Command } from 'commander';
import pino from 'pino';
import { DEFAULT_LIMITS } from '../server.js';
import { startService } from '../serve.js';
import { positiveInt, userPath, wholeNumberIn } from '@esm2/cli-kit';
import { addSessionOptions, type SessionFlags } from './options.js';

interface ServeFlags extends SessionFlags {
  model: string;
  port: number;
  host: string;
  maxBodyBytes: number;
  maxRows: number;
  timeoutMs: number;
  maxBatchRows: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: string;
}

/** cli-kit's port, with 0 allowed: the system picks a free one. */
const port = wholeNumberIn(0, 65535, 'a port');

/** `esm2-score serve --model M --port P`: the HTTP service, until SIGINT/SIGTERM. */
export function registerServeCommand(program: Command): void {
  addSessionOptions(program.command('serve').description('HTTP scoring service: POST /v1/score, the Open Inference Protocol (KServe v2) under /v2, GET /healthz, GET /metrics'))
    .requiredOption('--model <path>', 'model artifact directory (runs/NAME), exported .onnx file or Triton model folder (DIR/NAME)')
    .option('--port <n>', 'TCP port (0 picks a free one)', port, 8080)
    .option('--host <addr>', 'interface to listen on', '127.0.0.1')
    .option('--max-body-bytes <n>', 'largest request body', positiveInt, DEFAULT_LIMITS.bodyLimit)
    .option('--max-rows <n>', 'most rows per request', positiveInt, DEFAULT_LIMITS.maxRows)
    .option('--timeout-ms <n>', 'answer 503 when a request is not scored within this time', positiveInt, DEFAULT_LIMITS.timeoutMs)
    .option('--max-batch-rows <n>', 'most rows merged into one session run', positiveInt, DEFAULT_LIMITS.maxBatchRows)
    .option('--request-timeout-ms <n>', 'answer 408 and close the connection when a request (headers and body) is not received within this time', positiveInt, DEFAULT_LIMITS.requestTimeoutMs)
    .option('--shutdown-timeout-ms <n>', 'on SIGTERM/SIGINT, close connections still open after this time', positiveInt, DEFAULT_LIMITS.shutdownTimeoutMs)
    .option('--log-level <level>', 'pino log level (info logs every request)', 'warn')
    .action(async (flags: ServeFlags) => {
      const logger = pino({ level: flags.logLevel }, pino.destination(2));
      const running = await startService({
        model: userPath(flags.model),
        port: flags.port,
        host: flags.host,
        ...(flags.workers ? { workers: flags.workers } : {}),
        session: { threads: flags.threads, spinning: flags.spinning },
        limits: {
          bodyLimit: flags.maxBodyBytes,
          maxRows: flags.maxRows,
          timeoutMs: flags.timeoutMs,
          maxBatchRows: flags.maxBatchRows,
          requestTimeoutMs: flags.requestTimeoutMs,
          shutdownTimeoutMs: flags.shutdownTimeoutMs,
        },
        logger,
      });
      // First signal: graceful and bounded (--shutdown-timeout-ms). A second one exits at once.
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          console.error(`esm2-score: second ${signal}, exiting without waiting for in-flight requests`);
          process.exit(1);
        }
        stopping = true;
        console.log(`esm2-score: ${signal}, finishing in-flight requests (at most ${flags.shutdownTimeoutMs} ms)`);
        running.close().then(
          () => process.exit(0),
          (e: unknown) => {
            console.error(`esm2-score: shutdown failed: ${(e as Error).message}`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // Printed only once the handlers are in place: whoever waits for this line may signal at once.
      const m = running.model;
      console.log(`esm2-score: ${m.info.model.name} ${m.info.modelVersion} (${m.predictions.join(', ')}) on ${running.url} with ${running.pool.workers} worker(s)`);
    });
}
