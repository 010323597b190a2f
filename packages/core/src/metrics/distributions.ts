// The normal and Student t distributions the significance code needs, from
// definitions rather than magic coefficient tables: erfc by its power series
// and Laplace's continued fraction, the t CDF by the closed finite sums for
// integer degrees of freedom (Abramowitz & Stegun 26.7.3–4), quantiles by
// bisection on those CDFs. Accuracy is near double precision; the tests pin
// the textbook quantiles.

const SQRT_PI = Math.sqrt(Math.PI);

/** Complementary error function erfc(x) = 1 − erf(x), relative error below ~1e-13. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/√π · e^{−x²} · Σ 2ⁿ x^{2n+1} / (1·3···(2n+1)): all terms
    // positive, so no cancellation; 1 − erf loses at most ~3 digits here.
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; term > sum * 1e-17; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
    }
    return 1 - ((2 / SQRT_PI) * Math.exp(-x2) * sum);
  }
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), by the
  // modified Lentz method; converges fast for x ≥ 2.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal quantile Φ⁻¹(p), p in [0, 1] (±Infinity at the ends). */
export function normalQuantile(p: number): number {
  checkProbability('normalQuantile', p);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  return bisect(normalCdf, p, -40, 40);
}

/**
 * P(|T| ≤ t) for Student's t with `df` degrees of freedom (a positive
 * integer), by the finite sums of A&S 26.7.3 (odd df) and 26.7.4 (even df).
 * O(df) terms.
 */
function twoSidedT(t: number, df: number): number {
  if (t === Infinity) return 1;
  const cos2 = df / (df + t * t);
  const sin = t / Math.sqrt(df + t * t);
  if (df % 2 === 0) {
    let term = 1;
    let sum = 1;
    for (let k = 1; k <= (df - 2) / 2; k++) {
      term *= ((2 * k - 1) / (2 * k)) * cos2;
      sum += term;
    }
    return Math.min(1, sin * sum);
  }
  const theta = Math.atan(t / Math.sqrt(df));
  if (df === 1) return (2 / Math.PI) * theta;
  let term = Math.sqrt(cos2);
  let sum = term;
  for (let k = 1; k <= (df - 3) / 2; k++) {
    term *= ((2 * k) / (2 * k + 1)) * cos2;
    sum += term;
  }
  return Math.min(1, (2 / Math.PI) * (theta + sin * sum));
}

function checkDf(fn: string, df: number): void {
  if (!Number.isInteger(df) || df < 1) {
    throw new Error(`${fn}: degrees of freedom ${String(df)}, expected a positive integer`);
  }
}

function checkProbability(fn: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${fn}: p = ${String(p)}, expected a probability in [0, 1]`);
}

/** Student t CDF with integer `df` ≥ 1 (exact finite sums; O(df) work). */
export function studentTCdf(t: number, df: number): number {
  checkDf('studentTCdf', df);
  if (Number.isNaN(t)) return NaN;
  const a = twoSidedT(Math.abs(t), df);
  return t >= 0 ? 0.5 + a / 2 : 0.5 - a / 2;
}

/** Above this many degrees of freedom the quantile comes from the Cornish–Fisher expansion. */
const T_EXPANSION_DF = 1000;

/**
 * Student t quantile for integer `df` ≥ 1: bisection on the exact CDF for
 * df ≤ 1000; above, the Cornish–Fisher expansion in 1/df around the normal
 * quantile (A&S 26.7.5), whose error there is O(df⁻⁵) < 1e-14 relative.
 */
export function studentTQuantile(p: number, df: number): number {
  checkDf('studentTQuantile', df);
  checkProbability('studentTQuantile', p);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  if (df > T_EXPANSION_DF) {
    const x = normalQuantile(p);
    const x2 = x * x;
    const g1 = (x * (x2 + 1)) / 4;
    const g2 = (x * ((5 * x2 + 16) * x2 + 3)) / 96;
    const g3 = (x * (((3 * x2 + 19) * x2 + 17) * x2 - 15)) / 384;
    const g4 = (x * ((((79 * x2 + 776) * x2 + 1482) * x2 - 1920) * x2 - 945)) / 92160;
    return x + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
  }
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  return bisect((t) => studentTCdf(t, df), p, 0, hi);
}

/** The x in [lo, hi] where the increasing `cdf` crosses p, to the last representable bit. */
function bisect(cdf: (x: number) => number, p: number, lo: number, hi: number): number {
  for (let i = 0; i < 2000; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid === lo || mid === hi) break;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return lo + (hi - lo) / 2;
}
