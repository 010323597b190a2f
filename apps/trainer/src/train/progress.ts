import { SingleBar, Presets } from 'cli-progress';
import { performance } from 'node:perf_hooks';
import type { LoopReporter } from './loop.js';
import type { EpochRecord } from './settings.js';

const fmt = (x: unknown, digits = 4) => (typeof x === 'number' ? (Number.isNaN(x) ? 'nan' : x.toFixed(digits)) : '-');

/**
 * Progress on stderr: a bar with samples/s and a running (exponential
 * moving average) loss on a terminal; on a pipe, one line every few seconds.
 * Epoch summaries go to stdout.
 */
export function progressReporter(): LoopReporter {
  const tty = Boolean(process.stderr.isTTY);
  let bar: SingleBar | undefined;
  let start = 0;
  let lastLine = 0;
  let ema: number | undefined;
  let epochLabel = '';
  let total: number | undefined;
  return {
    epochStart(epoch, epochs, rows) {
      start = performance.now();
      lastLine = start;
      ema = undefined;
      total = rows;
      epochLabel = `epoch ${epoch}/${epochs}`;
      if (tty) {
        bar = new SingleBar(
          { format: `${epochLabel} {bar} {value}/{total} rows | {speed} samples/s | loss {loss}`, hideCursor: true, clearOnComplete: true, stream: process.stderr },
          Presets.shades_classic,
        );
        bar.start(rows ?? 0, 0, { speed: '-', loss: '-' });
      }
    },
    step(rows, loss) {
      ema = ema === undefined ? loss : 0.98 * ema + 0.02 * loss;
      const now = performance.now();
      const speed = Math.round(rows / ((now - start) / 1000));
      if (bar) {
        if (total === undefined) bar.setTotal(rows);
        bar.update(rows, { speed, loss: fmt(ema) });
      } else if (now - lastLine > 5000) {
        lastLine = now;
        process.stderr.write(`${epochLabel}: ${rows}${total ? `/${total}` : ''} rows, ${speed} samples/s, loss ${fmt(ema)}\n`);
      }
    },
    epochEnd(r: EpochRecord, improved) {
      bar?.stop();
      bar = undefined;
      const valid = 'cvr_auc' in r || 'ctr_auc' in r ? `  valid: ctr_auc ${fmt(r.ctr_auc)} cvr_auc ${fmt(r.cvr_auc)} ctcvr_auc ${fmt(r.ctcvr_auc)} ctcvr_gauc ${fmt(r.ctcvr_gauc)}` : '';
      console.log(`epoch ${r.epoch}: train loss ${fmt(r.train_loss)} (${r.samples_per_s} samples/s, ${r.seconds} s)${valid}${improved ? '  *best' : ''}`);
    },
    log(message) {
      process.stderr.write(`${message}\n`);
    },
  };
}
