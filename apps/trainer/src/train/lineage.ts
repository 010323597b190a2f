import type { VocabularyGrowth } from '@esm2/data';

/** One model of a lineage: where it was read from, its model.json's sha256, and the day of the data it was last trained on (null: unknown). */
export interface LineageEntry {
  path: string;
  sha256: string;
  day: number | null;
}

/**
 * Where a warm-started model comes from, in its artifacts' metadata
 * (`lineage`, in best/ and checkpoint/; a run that is not warm-started has
 * no such key). `parent`: the model it started from; `day`: the day of the
 * data it trained on; `data`: that data; `growth`: how each vocabulary
 * grew (kept, added, reused, evicted rows and the first evicted ids);
 * `ancestors`: the parent's own parent, its parent…, nearest first.
 */
export interface Lineage {
  parent: LineageEntry;
  day: number;
  data: string[];
  growth?: VocabularyGrowth;
  ancestors: LineageEntry[];
}
