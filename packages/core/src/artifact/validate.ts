import { sizeOf } from '../ir/shape.js';
import type { Weights } from '../ir/tensor.js';
import { typecheck } from '../ir/typecheck.js';
import type { Graph } from '../ir/types.js';
import { parseFeatureSchema, tableSize, type FeatureSchema } from '../schema.js';
import { parseModelConfig } from '../zoo/config.js';
import type { ArtifactModelInfo, ModelArtifact, StateTensor } from './artifact.js';
import { ArtifactError, listProblems } from './errors.js';
import { describeTensor, elementCount } from './layout.js';

/**
 * The invariants every artifact satisfies, checked before writing (so nothing
 * invalid reaches disk) and again after reading (so a hand-edited or foreign
 * file cannot slip through). Each check returns problems rather than
 * throwing, so one error can list everything wrong.
 */

/** The graph's message, or undefined when it typechecks. */
export function graphProblem(graph: Graph): string | undefined {
  try {
    typecheck(graph);
    return undefined;
  } catch (e) {
    return `graph fails typecheck: ${(e as Error).message}`;
  }
}

/** The model description agrees with its config and names only outputs the graph has. */
export function modelInfoProblems(model: ArtifactModelInfo, graph: Graph): string[] {
  const problems: string[] = [];
  if (model.name !== model.config.model) problems.push(`model.name '${model.name}' differs from model.config.model '${model.config.model}'`);
  for (const list of ['predictions', 'towers', 'losses'] as const) {
    for (const out of model[list]) {
      if (!(out in graph.outputs)) problems.push(`model.${list} names '${out}', which is not a graph output`);
    }
  }
  return problems;
}

/** Every graph feature input is a schema field (labels are fixed names outside the schema). */
export function schemaGraphProblems(schema: { fields: { name: string }[] }, graph: Graph): string[] {
  const fields = new Set(schema.fields.map((f) => f.name));
  return graph.inputs.filter((i) => i.role === 'feature' && !fields.has(i.name)).map((i) => `graph input '${i.name}' is not a field of the schema`);
}

/**
 * Each embedding table has as many rows as the schema gives its field
 * (vocabulary size with the OOV row, or hash buckets): encoders and scoring
 * go by the schema, the weights by the graph, and the two must agree.
 */
export function schemaTableProblems(schema: FeatureSchema, graph: Graph): string[] {
  const problems: string[] = [];
  for (const f of schema.fields) {
    if (f.kind === 'numeric') continue;
    // `emb/<field>`, or `<network>/emb/<field>` where a model has more than one set of tables (the DNN baseline).
    for (const table of graph.params.filter((p) => p.name === `emb/${f.name}` || p.name.endsWith(`/emb/${f.name}`))) {
      const rows = table.type.shape[0];
      if (typeof rows === 'number' && rows !== tableSize(f)) {
        const size = f.encoding.kind === 'vocabulary' ? `vocabulary size ${f.encoding.size}` : `${f.encoding.buckets} hash buckets`;
        problems.push(`schema field '${f.name}' has ${size} but its embedding table '${table.name}' has ${rows} rows`);
      }
    }
  }
  return problems;
}

/** Weights are exactly the graph's params: same names, f32, the declared element counts. */
export function paramProblems(graph: Graph, weights: Weights): string[] {
  const problems: string[] = [];
  const declared = new Set<string>();
  for (const p of graph.params) {
    declared.add(p.name);
    const w = weights.get(p.name);
    const expected = sizeOf(p.type.shape as number[]);
    if (w === undefined) problems.push(`param '${p.name}' has no weights`);
    else if (!(w instanceof Float32Array)) problems.push(`param '${p.name}' must be a Float32Array`);
    else if (w.length !== expected) {
      problems.push(`param '${p.name}' has ${w.length} values but the graph declares [${p.type.shape.join(',')}] = ${expected}`);
    }
  }
  for (const name of weights.keys()) if (!declared.has(name)) problems.push(`weights has '${name}', which is not a graph param`);
  return problems;
}

/** State tensors: a typed array matching the dtype, with as many values as the shape says. */
export function stateProblems(state: ReadonlyMap<string, StateTensor>): string[] {
  const problems: string[] = [];
  for (const [name, t] of state) {
    const what = describeTensor({ group: 'state', name });
    if (name.length === 0) problems.push('a state tensor has an empty name');
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      problems.push(`${what} has an invalid shape ${JSON.stringify(t.shape)}`);
      continue;
    }
    const ok = (t.dtype === 'f32' && t.data instanceof Float32Array) || (t.dtype === 'i32' && t.data instanceof Int32Array);
    if (!ok) problems.push(`${what}: dtype ${String(t.dtype)} needs a ${t.dtype === 'i32' ? 'Int32Array' : 'Float32Array'}`);
    else if (t.data.length !== elementCount(t.shape)) {
      problems.push(`${what} has ${t.data.length} values but shape [${t.shape.join(',')}] = ${elementCount(t.shape)}`);
    }
  }
  return problems;
}

/** The first NaN or ±Infinity of each f32 tensor: a diverged model must not be saved as if it were fine. */
export function nonFiniteProblems(weights: Weights, state?: ReadonlyMap<string, StateTensor>): string[] {
  const problems: string[] = [];
  const scan = (what: string, data: unknown) => {
    if (!(data instanceof Float32Array)) return;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!Number.isFinite(v)) {
        problems.push(`${what} has a non-finite value (${v}) at index ${i}`);
        return;
      }
    }
  };
  for (const [name, w] of weights) scan(describeTensor({ group: 'param', name }), w);
  for (const [name, t] of state ?? []) scan(describeTensor({ group: 'state', name }), t.data);
  return problems;
}

function parseProblem(what: string, parse: () => unknown): string[] {
  try {
    parse();
    return [];
  } catch (e) {
    return [`${what}: ${(e as Error).message}`];
  }
}

/** Throws an ArtifactError listing every problem; returns normally when the artifact can be written. */
export function validateArtifact(artifact: ModelArtifact): void {
  const typeError = graphProblem(artifact.graph);
  // Without a sound graph the other checks would only add noise.
  if (typeError) throw new ArtifactError(`invalid artifact: ${typeError}`);
  const schemaProblems = parseProblem('schema', () => parseFeatureSchema(artifact.schema));
  const configProblems = parseProblem('model.config', () => parseModelConfig(artifact.model.config));
  const problems = [
    ...schemaProblems,
    ...configProblems,
    // These read fields of the schema and config, so only once those parsed.
    ...(configProblems.length === 0 ? modelInfoProblems(artifact.model, artifact.graph) : []),
    ...(schemaProblems.length === 0 ? [...schemaGraphProblems(artifact.schema, artifact.graph), ...schemaTableProblems(artifact.schema, artifact.graph)] : []),
    ...paramProblems(artifact.graph, artifact.weights),
    ...stateProblems(artifact.state ?? new Map()),
    ...nonFiniteProblems(artifact.weights, artifact.state),
  ];
  if (problems.length > 0) throw new ArtifactError(`invalid artifact: ${listProblems(problems)}`);
}
