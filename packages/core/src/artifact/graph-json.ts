import { z } from 'zod';
import { OP_NAMES, type Graph, type OpAttrs, type OpName } from '../ir/types.js';

/**
 * Structural validation of a graph read from JSON. `typecheck` assumes
 * well-formed data (it would crash on a node without `type` or a
 * weightedSum without `weights`), so untrusted JSON passes through this first;
 * typecheck then checks the semantics.
 */

const dim = z.union([z.number().int(), z.literal('batch')]);
const tensorType = z.object({ dtype: z.enum(['f32', 'i32']), shape: z.array(dim) });

const initializer = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('zeros') }),
  z.object({ kind: z.literal('normal'), std: z.number().nonnegative() }),
  z.object({ kind: z.literal('uniform'), limit: z.number().nonnegative() }),
  z.object({ kind: z.literal('glorotUniform') }),
]);

const none = z.object({});

/** One attrs schema per op; `satisfies` makes adding an op to the IR a compile error here until handled. */
const attrSchemas = {
  gather: none,
  pooledGather: z.object({ mode: z.enum(['sum', 'mean']) }),
  concat: z.object({ axis: z.number().int() }),
  matmul: z.object({ transA: z.boolean().optional(), transB: z.boolean().optional() }),
  add: none,
  sub: none,
  mul: none,
  oneMinus: none,
  relu: none,
  sigmoid: none,
  tanh: none,
  bce: z.object({ eps: z.number() }),
  mean: none,
  weightedMean: none,
  weightedSum: z.object({ weights: z.array(z.number()) }),
  reshape: z.object({ shape: z.array(dim) }),
  constant: z.object({ value: z.number() }),
  pairwiseDot: none,
  reluGrad: none,
  bceGrad: z.object({ eps: z.number() }),
  meanGrad: none,
  weightedMeanGrad: none,
  sumTo: z.object({ shape: z.array(dim) }),
  slice: z.object({ axis: z.number().int(), start: z.number().int(), size: z.number().int() }),
  scatterAdd: z.object({ rows: z.number().int() }),
  pooledScatterAdd: z.object({ rows: z.number().int(), mode: z.enum(['sum', 'mean']) }),
  pairwiseDotGrad: none,
  sqrt: none,
  div: none,
  sum: none,
  maximum: none,
} satisfies { [O in OpName]: z.ZodType<OpAttrs[O]> };

const node = z
  .object({
    id: z.string().min(1),
    op: z.enum(OP_NAMES),
    inputs: z.array(z.string()),
    attrs: z.record(z.string(), z.unknown()),
    type: tensorType,
  })
  .superRefine((n, ctx) => {
    const r = (attrSchemas[n.op] as z.ZodType).safeParse(n.attrs);
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
