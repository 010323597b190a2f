import { z } from 'zod';
import type { Graph } from '../ir/types.js';
import { OPS, OP_NAMES } from '../ops/index.js';
import { dimSchema as dim } from '../ops/support/record.js';

/**
 * Structural validation of a graph read from JSON. `typecheck` assumes
 * well-formed data (it would crash on a node without `type` or a
 * weightedSum without `weights`), so untrusted JSON passes through this first;
 * typecheck then checks the semantics.
 */

const tensorType = z.object({ dtype: z.enum(['f32', 'i32']), shape: z.array(dim) });

const initializer = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('zeros') }),
  z.object({ kind: z.literal('normal'), std: z.number().nonnegative() }),
  z.object({ kind: z.literal('uniform'), limit: z.number().nonnegative() }),
  z.object({ kind: z.literal('glorotUniform') }),
]);

const node = z
  .object({
    id: z.string().min(1),
    op: z.enum(OP_NAMES),
    inputs: z.array(z.string()),
    attrs: z.record(z.string(), z.unknown()),
    type: tensorType,
  })
  .superRefine((n, ctx) => {
    // Each op's record holds its attrs schema (packages/core/src/ops/).
    const r = (OPS[n.op].attrs as z.ZodType).safeParse(n.attrs);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: ['attrs', ...issue.path], message: `${n.op}: ${issue.message}` });
    }
  });

export const graphJsonSchema = z.object({
  name: z.string(),
  inputs: z.array(z.object({ name: z.string().min(1), type: tensorType, role: z.enum(['feature', 'label', 'state']) })),
  params: z.array(z.object({ name: z.string().min(1), type: tensorType, init: initializer, kind: z.enum(['embedding', 'dense']) })),
  nodes: z.array(node),
  outputs: z.record(z.string(), z.string()),
});

/** The parsed value has the Graph shape; node attrs were checked per op above. */
export function asGraph(parsed: z.infer<typeof graphJsonSchema>): Graph {
  return parsed;
}
