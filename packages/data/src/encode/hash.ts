import { hashString } from '@esm2/core';
import { categoryKey } from './values.js';

/**
 * Feature hashing: no vocabulary to store, at the price of collisions.
 * Bucket 0 is kept for missing values, like the vocabulary's OOV id.
 */
export function hashId(v: unknown, buckets: number): number {
  const key = categoryKey(v);
  if (key === null) return 0;
  return 1 + (hashString(key) % (buckets - 1));
}
