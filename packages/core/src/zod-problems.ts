import type { z } from 'zod';

/**
 * Zod issues as `path: message` items, for every parser of a file or config
 * (artifact, schema, model config, data config, encoders, fit config). An
 * unknown key is named where it sits, `path.key: unknown key`, so a misspelt
 * nested key (`model.embedingDim`) can be found.
 */
export function zodProblems(error: z.ZodError): string[] {
  return error.issues.flatMap((i) => {
    const at = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${at ? `${at}.` : ''}${k}: unknown key`);
    return [`${at || '(root)'}: ${i.message}`];
  });
}
