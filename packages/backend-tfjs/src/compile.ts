import type * as tf from '@tensorflow/tfjs';
import { typecheck, type Graph, type Node } from '@esm2/core';
import { lowerNode } from './lowerings.js';

interface Plan {
  nodes: Node[];
  /** Values the caller must supply: inputs, params, and the supplied nodes themselves. */
  externals: Set<string>;
}

/**
 * A graph ready to run on tfjs. A run computes only what the requested
 * outputs need; the caller supplies inputs and params, and may also supply
 * the value of some nodes (`supplied`) — those nodes are then not computed
 * and nothing upstream of them is needed (how host-side embedding lookups
 * enter the graph).
 */
export class CompiledGraph {
  private readonly plans = new Map<string, Plan>();
  private readonly producers: Map<string, Node>;

  constructor(readonly graph: Graph) {
    typecheck(graph);
    this.producers = new Map(graph.nodes.map((n) => [n.id, n]));
  }

  /** Names of the values a run of `outputs` needs from the caller. */
  externalsFor(outputs: readonly string[], supplied: readonly string[] = []): ReadonlySet<string> {
    return this.plan(outputs, supplied).externals;
  }

  /**
   * Runs the graph. Call inside tf.tidy or a gradient scope: every
   * intermediate tensor is left to the caller's scope to dispose.
   */
  run(values: ReadonlyMap<string, tf.Tensor>, outputs: readonly string[], supplied: readonly string[] = []): Record<string, tf.Tensor> {
    const env = new Map(values);
    for (const node of this.plan(outputs, supplied).nodes) {
      const inputs = node.inputs.map((name) => {
        const v = env.get(name);
        if (v === undefined) throw new Error(`graph '${this.graph.name}': node ${node.id} (${node.op}) needs '${name}', which was not supplied`);
        return v;
      });
      env.set(node.id, lowerNode(node, inputs));
    }
    const result: Record<string, tf.Tensor> = {};
    for (const name of outputs) {
      const v = env.get(this.ref(name));
      if (v === undefined) throw new Error(`graph '${this.graph.name}': output '${name}' needs a value that was not supplied`);
      result[name] = v;
    }
    return result;
  }

  private ref(output: string): string {
    const ref = this.graph.outputs[output];
    if (ref === undefined) throw new Error(`graph '${this.graph.name}' has no output '${output}' (it has ${Object.keys(this.graph.outputs).join(', ')})`);
    return ref;
  }

  private plan(outputs: readonly string[], supplied: readonly string[]): Plan {
    const key = `${outputs.join('\0')}\u0001${supplied.join('\0')}`;
    let plan = this.plans.get(key);
    if (!plan) {
      const given = new Set(supplied);
      const needed = new Set<string>();
      const externals = new Set<string>();
      const stack = outputs.map((o) => this.ref(o));
      while (stack.length > 0) {
        const name = stack.pop()!;
        if (needed.has(name)) continue;
        needed.add(name);
        const node = this.producers.get(name);
        if (node && !given.has(name)) stack.push(...node.inputs);
        else externals.add(name);
      }
      plan = { nodes: this.graph.nodes.filter((n) => needed.has(n.id) && !given.has(n.id)), externals };
      this.plans.set(key, plan);
    }
    return plan;
  }
}
