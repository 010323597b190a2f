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
 * What a compiler is handed: graphs whose parameters are inputs (role
 * 'state'), as the host engine hands them. Forward and gradient graphs look
 * their embedding rows up themselves, so their id inputs (i32) are fed as
 * Int32Array; an i32 output (ids reshaped) may come back in any numeric
 * array. The runs of a case that do not depend on each other are asked for
 * at once (Promise.all), and every case is started together.
 *
 * runConformance registers the suite with the test runner it is handed
 * (vitest's describe/it/beforeAll, or its globals). Core imports no test
 * framework — its published build must not (scripts/pack-check.sh) — so
 * another runner, or a test that the suite fails a broken backend, can also
 * call the cases directly.
 */
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

/** The part of a test runner's API the suite registers its tests with (vitest's and jest's fit). */
export interface TestApi {
  describe: (name: string, body: () => void) => void;
  it: ((name: string, body: () => void | Promise<void>) => void) & { skip: (name: string, body: () => void) => void };
  beforeAll: (body: () => Promise<void>) => void;
}

export interface RunConformanceOptions extends ConformanceOptions {
  /** The runner's API: `{ describe, it, beforeAll }` imported from vitest. Default: the runner's globals (vitest with `globals: true`). */
  test?: TestApi;
}

function globalTestApi(): TestApi {
  const g = globalThis as Partial<TestApi>;
  if (typeof g.describe === 'function' && typeof g.it === 'function' && typeof g.beforeAll === 'function') return g as TestApi;
  throw new Error('runConformance registers tests: pass { test: { describe, it, beforeAll } } as vitest exports them (or run with vitest globals), or run conformanceCases() yourself');
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
 * Registers the suite for `target`: one test per generated case, and one
 * that every op of OP_NAMES is run. The cases run all at once, in a
 * beforeAll (a backend with a high cost per call, such as torch's python
 * process, can batch the runs that arrive together); each test then reports
 * its case's mismatches. `options` may select a subset (models,
 * interactions, steps, parts), which must still run every op; the default
 * is the full set.
 */
export function runConformance(target: ConformanceTarget, options: RunConformanceOptions = {}): void {
  const { describe, it, beforeAll } = options.test ?? globalTestApi();
  const cases = conformanceCases(options);
  const parts = (['forward', 'gradients', 'training'] as const).filter((part) => cases.some((c) => c.part === part));
  describe(`conformance of ${target.name}`, () => {
    if (target.skip !== undefined) {
      for (const part of parts) it.skip(`${part} (skipped: ${target.skip})`, () => {});
      return;
    }
    const outcomes = new Map<ConformanceCase, string[]>();
    beforeAll(async () => {
      const results = await Promise.all(cases.map((c) => outcome(c, target.compile)));
      cases.forEach((c, k) => outcomes.set(c, results[k]!));
    });

    it('the generated cases run every op of OP_NAMES through the compiler', () => {
      const missing = opsNotExercised(cases);
      if (missing.length > 0) throw new Error(`no case runs ${missing.join(', ')}`);
    });

    for (const part of parts) {
      describe(part, () => {
        for (const c of cases.filter((c) => c.part === part)) {
          it(c.name, () => {
            const problems = outcomes.get(c);
            if (problems === undefined) throw new Error('the case did not run');
            if (problems.length > 0) throw new Error(`${target.name} differs from the interpreter:\n  ${problems.join('\n  ')}`);
          });
        }
      });
    }
  });
}
