import { samePathGroups, type NamedPath } from '@esm2/core/node';

/** What comparing a later split with an earlier one measures when both are one file. */
const MEANS: Record<string, string> = {
  '--valid': 'the validation metrics (and the best epoch they pick) measure the training data, not held-out rows',
  '--test': 'the test metrics measure data the models have already seen',
};

/**
 * One warning per file given to two or more data flags (`--data`/`--train`,
 * `--valid`, `--test`), by any spelling (`a.csv`, `./a.csv`, a link): legal,
 * but rarely meant. `splits` are in order training, validation, test.
 */
export async function sameDataWarnings(splits: (NamedPath | undefined)[]): Promise<string[]> {
  const groups = await samePathGroups(splits);
  return groups.map((g) => {
    const flags = g.map((p) => p.flag);
    const last = flags.at(-1)!;
    return `warning: ${flags.slice(0, -1).join(', ')} and ${last} name the same file (${g.map((p) => p.path).join(', ')}): ${MEANS[last] ?? 'they are one split'}`;
  });
}
