/**
 * Seeded pseudo-random numbers. Every random choice in the project (weight
 * init, shuffling, synthetic data) goes through these so runs reproduce.
 */

/**
 * The largest seed: every generator here keeps 32 bits of its seed
 * (`seed >>> 0`), so a larger or negative one would silently be the same as
 * another (`1` and `2^32 + 1` give identical runs). Seeds are whole numbers
 * in 0…SEED_MAX, refused otherwise wherever they enter (flags, config files,
 * `fit()`, `compare`, synthetic data).
 */
export const SEED_MAX = 2 ** 32 - 1;

/** Why `seed` is not a seed (a whole number in 0…SEED_MAX), or undefined when it is one. */
export function seedProblem(seed: unknown): string | undefined {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) return `expected a whole number in 0…${SEED_MAX}, got ${String(seed)}`;
  if (seed < 0 || seed > SEED_MAX) return `${seed} is outside 0…${SEED_MAX} (seeds keep 32 bits: a larger one would repeat a smaller one's run)`;
  return undefined;
}

/** `seed` when it is a seed; otherwise an Error naming `what` (the flag or key) and the range. */
export function checkSeed(seed: unknown, what: string): number {
  const problem = seedProblem(seed);
  if (problem !== undefined) throw new Error(`${what}: ${problem}`);
  return seed as number;
}

/** 32-bit FNV-1a hash of a string, for deriving independent streams from names. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for init and shuffling; returns uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box–Muller over a uniform source. */
export function normalSampler(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}
