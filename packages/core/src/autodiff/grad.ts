import { GraphBuilder, ops, type Value } from '../ir/builder.js';
import { typecheck } from '../ir/typecheck.js';
import type { Graph, OpName } from '../ir/types.js';
import { AutodiffError, backwardRules, type BackwardRule } from './rules.js';

export interface GradOptions {
  /** The scalar output to differentiate; default `loss`. */
  loss?: string;
  /** Parameters (or f32 inputs, e.g. embedding rows fed from the host) to differentiate with respect to; default all parameters. */
  wrt?: string[];
}

/** Output name under which the gradient of a parameter appears. */
export const gradName = (param: string) => `grad/${param}`;

/**
 * Reverse-mode autodiff, IR → IR: returns the graph with one extra output
 * per differentiated value, `grad/<name>`, holding d loss / d value. The result is an
 * ordinary graph, so the interpreter and every backend run it unchanged.
 */
export function grad(graph: Graph, options: GradOptions = {}): Graph {
  const lossName = options.loss ?? 'loss';
  const lossRef = graph.outputs[lossName];
  if (lossRef === undefined) throw new AutodiffError(`graph '${graph.name}' has no output '${lossName}'`);
  const env = typecheck(graph);
  if (env.get(lossRef)!.shape.length !== 0) throw new AutodiffError(`output '${lossName}' must be a scalar to differentiate`);
  const wrt = options.wrt ?? graph.params.map((p) => p.name);
  for (const w of wrt) {
    const isParam = graph.params.some((p) => p.name === w);
    const isFloatInput = graph.inputs.some((i) => i.name === w && i.type.dtype === 'f32');
    if (!isParam && !isFloatInput) throw new AutodiffError(`'${w}' is neither a parameter nor an f32 input`);
  }

  // Forward sweep: which values depend on the chosen parameters.
  const active = new Set(wrt);
  for (const node of graph.nodes) if (node.inputs.some((i) => active.has(i))) active.add(node.id);

  const b = GraphBuilder.extending(graph);
  const cotangents = new Map<string, Value>();
  const accumulate = (name: string, g: Value) => {
    const prev = cotangents.get(name);
    cotangents.set(name, prev ? ops.add(b, prev, g) : g);
  };
  cotangents.set(lossRef, ops.constant(b, 1));

  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k]!;
    const dy = cotangents.get(node.id);
    if (!dy || !active.has(node.id)) continue;
    const needs = node.inputs.map((i) => active.has(i));
    const rule = backwardRules[node.op] as BackwardRule<OpName>;
    const inputs = node.inputs.map((i) => b.value(i));
    const grads = rule(b, { node, attrs: node.attrs, inputs, out: b.value(node.id), dy, needs });
    node.inputs.forEach((name, i) => {
      const g = grads[i];
      if (g && needs[i]) accumulate(name, g);
    });
  }

  for (const w of wrt) {
    const g = cotangents.get(w);
    if (!g) throw new AutodiffError(`parameter '${w}' does not affect '${lossName}'`);
    b.output(gradName(w), g);
  }
  const result = b.build();
  typecheck(result);
  return result;
}
