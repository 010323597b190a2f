import { hashString, mulberry32, normalSampler } from '@esm2/core';

/**
 * The latent world behind the synthetic data: users, items, categories,
 * shops, brands and hours, each with hidden vectors and biases. The four
 * ESM2 sub-targets are sigmoids of their interactions, so the data has a
 * known truth to score models against.
 */
export const DIM = 8;

export interface WorldSizes {
  users: number;
  items: number;
  categories: number;
  shops: number;
  brands: number;
  tags: number;
  cities: number;
}

export const DEFAULT_SIZES: WorldSizes = { users: 20000, items: 30000, categories: 120, shops: 3000, brands: 1500, tags: 60, cities: 40 };

export interface World {
  sizes: WorldSizes;
  user: { gender: Int32Array; age: Int32Array; city: Int32Array; tags: Int32Array[]; vec: Float32Array; bias: Float32Array; buyer: Float32Array; cum: Float64Array; rank: Int32Array };
  item: { category: Int32Array; shop: Int32Array; brand: Int32Array; price: Float32Array; vec: Float32Array; bias: Float32Array; cum: Float64Array; rank: Int32Array };
  category: { vec: Float32Array; tag: Int32Array };
  /** Clicks by hour of day: evenings are busier and more purchase-minded. */
  hourCum: Float64Array;
  hourBias: Float32Array;
}

/** Independent seeded streams per purpose, so changing one part leaves the others' draws alone. */
export function stream(seed: number, purpose: string): () => number {
  return mulberry32((seed ^ hashString(purpose)) >>> 0);
}

/** Popularity laws: Zipf exponents of users and items, and the scales of the hidden traits that drift with days. */
export const USER_ZIPF = 0.8;
export const ITEM_ZIPF = 0.9;
export const USER_TASTE_SCALE = 0.5;
export const ITEM_APPEAL_SCALE = 0.5;

export function buildWorld(seed: number, sizes: WorldSizes = DEFAULT_SIZES): World {
  const u = stream(seed, 'world');
  const normal = normalSampler(u);
  const category = { vec: Float32Array.from({ length: sizes.categories * DIM }, () => normal() * 0.6), tag: Int32Array.from({ length: sizes.categories }, () => Math.floor(u() * sizes.tags)) };
  return { sizes, ...buildEntities(u, normal, category, sizes), category, ...hours() };
}

export type Entities = Pick<World, 'user' | 'item'>;

/**
 * Users and items of a world whose categories exist: the world's own (in
 * buildWorld, drawn right after the categories from the same stream), or a
 * cohort born later into a moving world (moving.ts), from a stream of its own.
 */
export function buildEntities(u: () => number, normal: () => number, category: World['category'], sizes: WorldSizes): Entities {
  const vec = (n: number, scale: number) => Float32Array.from({ length: n * DIM }, () => normal() * scale);
  const int = (n: number, k: number) => Int32Array.from({ length: n }, () => Math.floor(u() * k));
  const itemCategory = int(sizes.items, sizes.categories);
  const itemVec = new Float32Array(sizes.items * DIM);
  for (let i = 0; i < sizes.items; i++) {
    const c = itemCategory[i]!;
    for (let d = 0; d < DIM; d++) itemVec[i * DIM + d] = category.vec[c * DIM + d]! + normal() * 0.4;
  }
  const users = sizes.users;
  const userTags: Int32Array[] = [];
  for (let i = 0; i < users; i++) {
    const k = 1 + Math.floor(u() * 5);
    userTags.push(Int32Array.from({ length: k }, () => Math.floor(u() * sizes.tags)));
  }
  const user = {
    gender: int(users, 2),
    age: int(users, 7),
    city: int(users, sizes.cities),
    tags: userTags,
    vec: vec(users, USER_TASTE_SCALE),
    bias: Float32Array.from({ length: users }, () => normal() * 0.5),
    buyer: Float32Array.from({ length: users }, () => normal() * 0.6),
    ...zipfPopularity(users, USER_ZIPF, u),
  };
  const item = {
    category: itemCategory,
    shop: int(sizes.items, sizes.shops),
    brand: int(sizes.items, sizes.brands),
    price: Float32Array.from({ length: sizes.items }, () => Math.exp(3 + normal() * 1.0)),
    vec: itemVec,
    bias: Float32Array.from({ length: sizes.items }, () => normal() * ITEM_APPEAL_SCALE),
    ...zipfPopularity(sizes.items, ITEM_ZIPF, u),
  };
  return { user, item };
}

const hours = () => ({
  hourCum: cumulative(Float64Array.from({ length: 24 }, (_, h) => 1 + Math.sin(((h - 9) / 24) * 2 * Math.PI) * 0.6)),
  hourBias: Float32Array.from({ length: 24 }, (_, h) => (h >= 19 && h <= 23 ? 0.3 : h <= 6 ? -0.3 : 0)),
});

/** Popularity: a shuffled Zipf law, so a few users and items dominate as in real logs. `rank` 0 is the most popular. */
function zipfPopularity(n: number, s: number, u: () => number): { cum: Float64Array; rank: Int32Array } {
  const rank = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  return { cum: cumulative(zipfWeights(rank, s)), rank };
}

/** Zipf weight of each entry's rank; a negative rank weighs 0 (an entry not in the draw). */
export function zipfWeights(rank: Int32Array, s: number, scale?: Float64Array): Float64Array {
  return Float64Array.from(rank, (r, i) => (r < 0 ? 0 : scale ? scale[i]! / Math.pow(r + 1, s) : 1 / Math.pow(r + 1, s)));
}

export function cumulative(w: Float64Array): Float64Array {
  const c = new Float64Array(w.length);
  let s = 0;
  for (let i = 0; i < w.length; i++) c[i] = s += w[i]!;
  for (let i = 0; i < w.length; i++) c[i] = c[i]! / s;
  return c;
}

/** Index drawn from a cumulative distribution (binary search). */
export function draw(cum: Float64Array, x: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
