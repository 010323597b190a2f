import { typecheck } from '../ir/typecheck.js';
import type { Dim, Graph } from '../ir/types.js';

/**
 * One matrix product of a graph: `batch` independent products op(A)·op(B)
 * of an m×k by a k×n matrix (batch 1 for a 2-D matmul; pairwise dot
 * products run one per row). Any dimension may be the graph's symbolic batch.
 */
export interface MatrixProduct {
  /** The IR node computing it. */
  node: string;
  op: 'matmul' | 'pairwiseDot' | 'pairwiseDotGrad';
  batch: Dim;
  m: Dim;
  k: Dim;
  n: Dim;
  transA: boolean;
  transB: boolean;
}

export interface GraphFlops {
  products: MatrixProduct[];
  /** 2·batch·m·k·n summed over the products, at `batch` rows, divided by the rows: the FLOP one row costs. */
  perSample: number;
}

/** A dimension's size at `rows` rows. */
export const sizeAt = (d: Dim, rows: number): number => (d === 'batch' ? rows : d);

/** FLOP of one product at `rows` rows: 2·m·k·n multiply-adds per matrix, times its batch. */
export const productFlops = (p: MatrixProduct, rows: number): number => 2 * sizeAt(p.batch, rows) * sizeAt(p.m, rows) * sizeAt(p.k, rows) * sizeAt(p.n, rows);

/**
 * The matrix products of a graph and the FLOP they cost per row at `rows`
 * rows (a product without the batch dimension, e.g. of two parameters, is
 * shared by the rows). Counted: matmul (2·m·k·n), and pairwiseDot and its
 * gradient as the batched products the ONNX lowering runs (x·xᵀ over
 * [F, D] per row, the whole F×F Gram matrix, and [F, F]·[F, D] per row for
 * the gradient). Not counted: embedding lookups and scatters, element-wise
 * ops, reductions, the optimizer: memory-bound work a GEMM roofline does
 * not describe. On a training step's graph (buildTrainStep) this is the
 * forward products plus the backward ones (dX = dY·Wᵀ where X needs a
 * gradient, dW = Xᵀ·dY).
 */
export function matrixProductFlops(graph: Graph, rows: number): GraphFlops {
  if (!(Number.isInteger(rows) && rows > 0)) throw new Error(`rows must be a positive integer, got ${rows}`);
  const types = typecheck(graph);
  const shape = (name: string) => types.get(name)!.shape;
  const products: MatrixProduct[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'matmul') {
      const [a, b] = [shape(node.inputs[0]!), shape(node.inputs[1]!)];
      const attrs = node.attrs as { transA?: boolean; transB?: boolean };
      const transA = attrs.transA ?? false;
      const transB = attrs.transB ?? false;
      const [m, k] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
      const n = transB ? b[0]! : b[1]!;
      products.push({ node: node.id, op: 'matmul', batch: 1, m, k, n, transA, transB });
    } else if (node.op === 'pairwiseDot') {
      const [batch, f, d] = shape(node.inputs[0]!) as [Dim, Dim, Dim];
      products.push({ node: node.id, op: 'pairwiseDot', batch, m: f, k: d, n: f, transA: false, transB: true });
    } else if (node.op === 'pairwiseDotGrad') {
      const [batch, f, d] = shape(node.inputs[1]!) as [Dim, Dim, Dim];
      products.push({ node: node.id, op: 'pairwiseDotGrad', batch, m: f, k: f, n: d, transA: false, transB: false });
    }
  }
  const total = products.reduce((s, p) => s + productFlops(p, rows), 0);
  return { products, perSample: total / rows };
}
