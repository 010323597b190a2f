/**
 * Below this many test positives a difference between models is not worth
 * reading. With P positives and many negatives, an AUC A has a standard error
 * of about √((Q − A²)/P), Q = 2A²/(1 + A) (Hanley & McNeil 1982): for A = 0.7,
 * 0.059 at 25 positives and 0.029 at 100 — while the differences between
 * models in the ESM2 paper are around 0.01. 100 is where a comparison stops
 * being hopeless (the "~100"), not where it becomes sufficient: the
 * intervals still decide.
 */
export const MIN_POSITIVES_FOR_COMPARISON = 100;

export interface PositivesVerdict {
  positives: number;
  threshold: number;
  /** False when the positives are too few for a difference between models to mean anything. */
  meaningful: boolean;
  /** One sentence for a table note or a console warning. */
  message: string;
}

/**
 * Whether a task's test set has enough positives for model differences on it
 * to mean anything, with a sentence to print. `task` names the task in the
 * sentence (e.g. "CVR", "CTCVR"), `split` the data the positives are in
 * ("test" unless told, e.g. "validation" for fit's table).
 */
export function positivesVerdict(positives: number, task: string, split = 'test'): PositivesVerdict {
  if (!Number.isInteger(positives) || positives < 0) {
    throw new Error(`positivesVerdict: positives = ${String(positives)}, expected a count ≥ 0`);
  }
  const threshold = MIN_POSITIVES_FOR_COMPARISON;
  const meaningful = positives >= threshold;
  let message: string;
  if (positives === 0) {
    message = `${task} has no ${split} positives: its AUC, and any difference between models on it, are undefined.`;
  } else if (!meaningful) {
    message =
      `${task} rests on only ${positives} ${split} positive${positives === 1 ? '' : 's'} (fewer than ${threshold}): ` +
      `a difference between models on so few is mostly chance — do not read a winner from it.`;
  } else {
    message = `${task} rests on ${positives} ${split} positives: enough for the intervals on its differences to be read.`;
  }
  return { positives, threshold, meaningful, message };
}
