import { Progress } from '@esm2/cli-kit';
import type { LoopReporter } from './loop.js';
import { recordLogloss } from './metric-key.js';
import type { EpochRecord } from './settings.js';

const fmt = (x: unknown, digits = 4) => (typeof x === 'number' ? (Number.isNaN(x) ? 'nan' : x.toFixed(digits)) : '-');

/**
 * Progress on stderr: per epoch, rows, samples/s and a running (exponential
 * moving average) loss, as a bar on a terminal or a line every few seconds
 * on a pipe. Epoch summaries go to stdout.
 */
export function progressReporter(): LoopReporter {
  let progress: Progress | undefined;
  let ema: number | undefined;
  let total: number | undefined;
  return {
    epochStart(epoch, epochs, rows) {
      ema = undefined;
      total = rows;
      progress = new Progress({ label: `epoch ${epoch}/${epochs}`, unit: 'samples', clearOnStop: true });
    },
    step(rows, loss) {
      ema = ema === undefined ? loss : 0.98 * ema + 0.02 * loss;
      progress?.update(rows, { ...(total !== undefined ? { total } : {}), info: { loss: fmt(ema) } });
    },
    epochEnd(r: EpochRecord, improved) {
      progress?.stop();
      progress = undefined;
      const valid = 'cvr_auc' in r || 'ctr_auc' in r ? `  valid: logloss ${fmt(recordLogloss(r))} ctr_auc ${fmt(r.ctr_auc)} cvr_auc ${fmt(r.cvr_auc)} ctcvr_auc ${fmt(r.ctcvr_auc)} ctcvr_gauc ${fmt(r.ctcvr_gauc)}` : '';
      console.log(`epoch ${r.epoch}: train loss ${fmt(r.train_loss)} (${r.samples_per_s} samples/s, ${r.seconds} s)${valid}${improved ? '  *best' : ''}`);
    },
    log(message) {
      process.stderr.write(`${message}\n`);
    },
  };
}
