import { normalSampler } from '@esm2/core';
import {
  buildEntities,
  buildWorld,
  cumulative,
  DIM,
  ITEM_APPEAL_SCALE,
  ITEM_ZIPF,
  stream,
  USER_TASTE_SCALE,
  USER_ZIPF,
  zipfWeights,
  type Entities,
  type World,
  type WorldSizes,
} from './world.js';

/**
 * How the world moves from one day to the next (`data generate --days N`).
 * Births and lifetimes are matched (lifetime ≈ 1 / birth share), so the
 * catalogue keeps its size while its members turn over; the drifts are
 * AR(1) walks that keep each trait's spread, so the funnel rates stay on
 * target every day while who is popular, and what users like, changes.
 */
export interface Drift {
  /** Users / items born on each day after day 0, as a share of day 0's: new ids, never seen before. */
  userBirth: number;
  itemBirth: number;
  /** Mean days a user / item keeps its full popularity (exponential) before it fades. */
  userLifetime: number;
  itemLifetime: number;
  /** Days in which a fading user's or item's popularity halves; below 1/32 it leaves the world for good. */
  fadeHalfLife: number;
  /** Day-to-day correlation of the popularity "heat" that orders the Zipf ranks (0.9: the ranks shift every day). */
  popularity: number;
  /** Day-to-day correlation of each user's taste vector (interests drift). */
  interest: number;
  /** Day-to-day correlation of each item's appeal (its click bias). */
  appeal: number;
}

export const DEFAULT_DRIFT: Drift = {
  userBirth: 0.04,
  itemBirth: 0.06,
  userLifetime: 25,
  itemLifetime: 16,
  fadeHalfLife: 1,
  popularity: 0.9,
  interest: 0.97,
  appeal: 0.98,
};

const GONE = 1 / 32;

type Kind = 'user' | 'item';

/** One kind's life state: when each entry was born and stops being at full popularity, its heat, whether it left. */
interface Lives {
  count: number;
  perDay: number;
  zipf: number;
  born: Int32Array;
  end: Float64Array;
  heat: Float64Array;
  gone: Uint8Array;
  lifetime: number;
}

/**
 * A world whose users and items are born, fade and drift day by day. Day 0
 * is exactly `buildWorld(worldSeed, sizes)` (same entities, same popularity),
 * so day 0's impressions are today's; day d's world depends on the world seed
 * and d only (not on the number of days asked for): cohort d comes from a
 * stream of its own, and each day's drift draws from one stream in order.
 * Ids are indices: a cohort's users and items take the next indices, never
 * reused. `day(d)` must be called for d = 0, 1, 2… in order; the World it
 * returns shares arrays with the next day's (read it before moving on).
 */
export class MovingWorld {
  private readonly world: World;
  private readonly lives: Record<Kind, Lives>;
  private readonly u: () => number;
  private readonly normal: () => number;
  private today = -1;

  constructor(
    private readonly seed: number,
    private readonly sizes: WorldSizes,
    days: number,
    private readonly drift: Drift = DEFAULT_DRIFT,
  ) {
    const base = buildWorld(seed, sizes);
    const born = (share: number, n: number) => (share > 0 ? Math.max(1, Math.round(share * n)) : 0);
    const perDay = { user: born(drift.userBirth, sizes.users), item: born(drift.itemBirth, sizes.items) };
    const cap = { user: sizes.users + (days - 1) * perDay.user, item: sizes.items + (days - 1) * perDay.item };
    this.world = { ...base, sizes: { ...sizes }, user: grow(base.user, sizes.users, cap.user), item: grow(base.item, sizes.items, cap.item) };
    this.u = stream(seed, 'world-drift');
    this.normal = normalSampler(this.u);
    const lives = (kind: Kind, zipf: number, lifetime: number): Lives => {
      const n = sizes[kind === 'user' ? 'users' : 'items'];
      const l: Lives = {
        count: n,
        perDay: perDay[kind],
        zipf,
        lifetime,
        born: new Int32Array(cap[kind]),
        end: new Float64Array(cap[kind]),
        heat: new Float64Array(cap[kind]),
        gone: new Uint8Array(cap[kind]),
      };
      // Day 0's heat orders the entries as the world's own Zipf ranks do: the n largest of n normal draws, by rank.
      const z = Float64Array.from({ length: n }, () => this.normal()).sort().reverse();
      const rank = base[kind].rank;
      for (let i = 0; i < n; i++) {
        l.heat[i] = z[rank[i]!]!;
        l.end[i] = this.lifetime(lifetime);
      }
      return l;
    };
    this.lives = { user: lives('user', USER_ZIPF, drift.userLifetime), item: lives('item', ITEM_ZIPF, drift.itemLifetime) };
  }

  /** Index of the first user / item born on day d (ids are index + 1). */
  firstBorn(kind: Kind, d: number): number {
    return d === 0 ? 0 : this.sizes[kind === 'user' ? 'users' : 'items'] + (d - 1) * this.lives[kind].perDay;
  }

  /** Day d's world (d = 0, 1, 2… in order). */
  day(d: number): World {
    if (d !== this.today + 1) throw new Error(`MovingWorld.day(${d}): days are visited in order, the next is ${this.today + 1}`);
    this.today = d;
    if (d > 0) {
      this.step();
      this.bear(d);
    }
    for (const kind of ['user', 'item'] as const) this.popularity(kind, d);
    this.world.sizes = { ...this.sizes, users: this.lives.user.count, items: this.lives.item.count };
    return this.world;
  }

  private lifetime(mean: number): number {
    return -mean * Math.log(1 - this.u());
  }

  /** One day of drift for everyone still in the world: heat, user taste, item appeal. */
  private step(): void {
    const walk = (a: number) => [a, Math.sqrt(1 - a * a)] as const;
    const [hp, hq] = walk(this.drift.popularity);
    const [ip, iq] = walk(this.drift.interest);
    const [ap, aq] = walk(this.drift.appeal);
    const { user, item } = this.lives;
    for (let i = 0; i < user.count; i++) {
      if (user.gone[i]) continue;
      user.heat[i] = hp * user.heat[i]! + hq * this.normal();
      const v = this.world.user.vec;
      for (let k = i * DIM; k < (i + 1) * DIM; k++) v[k] = ip * v[k]! + iq * USER_TASTE_SCALE * this.normal();
    }
    for (let i = 0; i < item.count; i++) {
      if (item.gone[i]) continue;
      item.heat[i] = hp * item.heat[i]! + hq * this.normal();
      const b = this.world.item.bias;
      b[i] = ap * b[i]! + aq * ITEM_APPEAL_SCALE * this.normal();
    }
  }

  /** Cohort d: new users and items from a stream of the day's own, with fresh heat and lifetimes. */
  private bear(d: number): void {
    const { user, item } = this.lives;
    const u = stream(this.seed, `world-births-day-${d}`);
    const cohort = buildEntities(u, normalSampler(u), this.world.category, { ...this.sizes, users: user.perDay, items: item.perDay });
    place(this.world.user, cohort.user, user.count);
    place(this.world.item, cohort.item, item.count);
    for (const l of [user, item]) {
      for (let i = l.count; i < l.count + l.perDay; i++) {
        l.born[i] = d;
        l.heat[i] = this.normal();
        l.end[i] = d + this.lifetime(l.lifetime);
      }
      l.count += l.perDay;
    }
  }

  /** Day d's popularity: Zipf weights by heat rank among those still in the world, times their fade. */
  private popularity(kind: Kind, d: number): void {
    const l = this.lives[kind];
    const cap = l.born.length;
    const fade = new Float64Array(cap);
    const alive: number[] = [];
    for (let i = 0; i < l.count; i++) {
      if (l.gone[i]) continue;
      const f = d <= l.end[i]! ? 1 : Math.pow(0.5, (d - l.end[i]!) / this.drift.fadeHalfLife);
      if (f < GONE) l.gone[i] = 1;
      else {
        fade[i] = f;
        alive.push(i);
      }
    }
    const rank = new Int32Array(cap).fill(-1);
    if (d === 0) rank.set(this.world[kind].rank.subarray(0, l.count));
    else {
      alive.sort((a, b) => l.heat[b]! - l.heat[a]! || a - b);
      alive.forEach((i, r) => (rank[i] = r));
    }
    this.world[kind].rank = rank;
    this.world[kind].cum = cumulative(zipfWeights(rank, l.zipf, fade));
  }
}

/** The entities' arrays at capacity `cap` (per-entry width kept), the first `n` entries copied. */
function grow<T extends Entities['user'] | Entities['item']>(e: T, n: number, cap: number): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(e)) {
    if (Array.isArray(value)) out[key] = [...value];
    else {
      const a = value;
      const width = a.length / n;
      const b = new (a.constructor as new (n: number) => typeof a)(cap * width);
      b.set(a);
      out[key] = b;
    }
  }
  return out as T;
}

/** Copies a cohort's entries into the world's arrays from index `at` (popularity is the world's, not the cohort's). */
function place<T extends Entities['user'] | Entities['item']>(into: T, cohort: T, at: number): void {
  for (const [key, value] of Object.entries(cohort)) {
    if (key === 'cum' || key === 'rank') continue;
    const target = (into as Record<string, unknown>)[key];
    if (Array.isArray(value)) (target as unknown[]).push(...(value as unknown[]));
    else {
      const a = value as Int32Array | Float32Array;
      const n = cohort.rank.length;
      (target as Int32Array | Float32Array).set(a, at * (a.length / Math.max(1, n)));
    }
  }
}
