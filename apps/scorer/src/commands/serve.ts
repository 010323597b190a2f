import type { Command } from 'commander';
import pino from 'pino';
import { DEFAULT_LIMITS } from '../server.js';
import type { Switched } from '../repository.js';
import { startService } from '../serve.js';
import { nonNegativeNumber, positiveInt, userPath, wholeNumberIn } from '@esm2/cli-kit';
import { addSessionOptions, type SessionFlags } from './options.js';

interface ServeFlags extends SessionFlags {
  model?: string;
  modelRepository?: string;
  modelName?: string;
  pollSeconds: number;
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

/** `esm2-score serve --model M --port P` (or `--model-repository DIR`): the HTTP service, until SIGINT/SIGTERM. */
export function registerServeCommand(program: Command): void {
  addSessionOptions(program.command('serve').description('HTTP scoring service: POST /v1/score, the Open Inference Protocol (KServe v2) under /v2, GET /healthz, GET /metrics'), { onThread: true })
    .option('--model <path>', 'model artifact directory (runs/NAME), exported .onnx file or Triton model folder (DIR/NAME): served as one version')
    .option('--model-repository <dir>', 'or a Triton model repository (DIR/NAME/VERSION/model.onnx, as export --triton writes): versions loaded, swapped and unloaded while serving (docs/serving.md)')
    .option('--model-name <name>', "with --model-repository: the model folder to serve (default: the repository's only one)")
    .option('--poll-seconds <s>', 'with --model-repository: look for a new version every S seconds (0: never; load it with POST /v2/repository/models/NAME/load)', nonNegativeNumber, 0)
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
      if ((flags.model === undefined) === (flags.modelRepository === undefined)) {
        throw new Error(flags.model === undefined ? "missing --model or --model-repository (see 'esm2-score serve --help')" : 'give --model or --model-repository, not both');
      }
      if (flags.modelRepository === undefined) {
        const stray = [flags.modelName !== undefined ? '--model-name' : '', flags.pollSeconds !== 0 ? '--poll-seconds' : ''].filter((f) => f !== '');
        if (stray.length > 0) throw new Error(`${stray.join(' and ')}: only with --model-repository`);
      }
      const logger = pino({ level: flags.logLevel }, pino.destination(2));
      const running = await startService({
        ...(flags.model !== undefined
          ? { model: userPath(flags.model) }
          : { repository: { dir: userPath(flags.modelRepository!), ...(flags.modelName ? { name: flags.modelName } : {}), pollSeconds: flags.pollSeconds } }),
        port: flags.port,
        host: flags.host,
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
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
      const what = running.repository ? `${m.name} version ${m.version} from ${running.repository.dir}` : `${m.info.model.name} ${m.info.modelVersion}`;
      console.log(`esm2-score: ${what} (${m.predictions.join(', ')}) on ${running.url} ${running.workers === 0 ? 'scoring on the HTTP thread' : `with ${running.workers} worker(s)`}`);
      // Swaps are said on stdout too (the log, at --log-level info, has them with the refusals, which it logs at error).
      const { name } = m; // not the model itself: a listener must not keep the first version alive
      running.repository?.on('serving', (s: Switched) => console.log(`esm2-score: ${name} version ${s.version} serving${s.previous === undefined ? '' : `, replacing version ${s.previous}`}`));
      running.repository?.on('closed', (version: string) => console.log(`esm2-score: ${name} version ${version} closed`));
    });
}
