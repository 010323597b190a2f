import { formatType } from './shape.js';
import type { Graph, Initializer, Node } from './types.js';

function formatInit(init: Initializer): string {
  switch (init.kind) {
    case 'zeros':
    case 'glorotUniform':
      return init.kind;
    case 'normal':
      return `normal(std=${init.std})`;
    case 'uniform':
      return `uniform(±${init.limit})`;
  }
}

function formatAttrs(node: Node): string {
  const entries = Object.entries(node.attrs as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== false);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`).join(', ')}}`;
}

/** A readable listing of a graph, one equation per line (jaxpr-like). */
export function printGraph(graph: Graph): string {
  const lines: string[] = [`graph ${graph.name} (`];
  for (const i of graph.inputs) lines.push(`  ${i.name}: ${formatType(i.type)}${i.role === 'label' ? '  # label' : ''}`);
  lines.push(') params (');
  for (const p of graph.params) lines.push(`  ${p.name}: ${formatType(p.type)} ~ ${formatInit(p.init)}${p.kind === 'embedding' ? '  # embedding' : ''}`);
  lines.push(') {');
  for (const n of graph.nodes) {
    lines.push(`  ${n.id}: ${formatType(n.type)} = ${n.op}${formatAttrs(n)} ${n.inputs.join(' ')}`.trimEnd());
  }
  const outs = Object.entries(graph.outputs).map(([k, v]) => `${k}=${v}`);
  lines.push(`  return ${outs.join(', ')}`, '}');
  return lines.join('\n');
}
