/**
 * @esm2/core/conformance: the one test suite every backend runs, in the
 * manner of ONNX's backend tests. Its cases are generated, never listed by
 * hand (conformanceCases): (a) forward, every op of OP_NAMES on the edge-ops
 * graph and every zoo graph; (b) gradients, core's autodiff graph of every
 * zoo model × interaction; (c) training, steps of every zoo model ×
 * interaction by core's HostEmbeddingEngine on the backend's compiler, all
 * against core's interpreter, within TOLERANCES. A new op, model or
 * interaction is covered by every backend without editing a test.
 *
 * runConformance registers the suite with vitest (an optional peer
 * dependency: only this subpath imports it), so a backend calls it once from
 * one test file. The cases and their checks carry no vitest: another runner,
 * or a test that the suite fails a broken backend, calls them directly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { GraphCompiler } from '../train/compiler.js';
import { conformanceCases, opsNotExercised, type ConformanceCase, type ConformanceOptions } from './cases.js';

export {
  conformanceCases,
  defaultConfigCases,
  opsNotExercised,
  paddedFeeds,
  TOLERANCES,
  trainingOptimizer,
  zooCases,
  type ConformanceCase,
  type ConformanceOptions,
  type ConformancePart,
  type ZooCase,
} from './cases.js';

/** A backend under test: its name, how it compiles IR graphs, and why it is skipped (if it is). */
export interface ConformanceTarget {
  name: string;
  compile: GraphCompiler;
  /** Set: every test of the suite is registered as skipped, with this reason in its title. */
  skip?: string;
}

/** Each case's mismatches, or the error it threw, as sentences. */
async function outcome(c: ConformanceCase, compile: GraphCompiler): Promise<string[]> {
  try {
    return await c.run(compile);
  } catch (e) {
    return [`threw: ${e instanceof Error ? e.message : String(e)}`];
  }
}

/**
 * Runs every case on the target's compiler, all at once: the cases are
 * started together in a beforeAll (a backend with a high cost per call, such
 * as torch's python process, can batch the runs that arrive together), and
 * each case is one test asserting its own outcome. `options` select a subset
 * (models, interactions, steps, parts); the default is the full set.
 */
export function runConformance(target: ConformanceTarget, options: ConformanceOptions = {}): void {
  const cases = conformanceCases(options);
  const title = `conformance of ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`;
  describe.skipIf(target.skip !== undefined)(title, () => {
    const outcomes = new Map<ConformanceCase, string[]>();
    beforeAll(async () => {
      const results = await Promise.all(cases.map((c) => outcome(c, target.compile)));
      cases.forEach((c, k) => outcomes.set(c, results[k]!));
    });

    it('the generated cases run every op of OP_NAMES through the compiler', () => {
      // Also with a subset of the options: a subset must still run every op.
      expect(opsNotExercised(cases)).toEqual([]);
    });

    for (const part of ['forward', 'gradients', 'training'] as const) {
      const ofPart = cases.filter((c) => c.part === part);
      if (ofPart.length === 0) continue;
      describe(part, () => {
        for (const c of ofPart) {
          it(c.name, () => {
            expect(outcomes.get(c), 'the case did not run').toBeDefined();
            expect(outcomes.get(c)).toEqual([]);
          });
        }
      });
    }
  });
}
