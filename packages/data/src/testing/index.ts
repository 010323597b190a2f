/**
 * @esm2/data/testing: test helpers other packages' tests share (the
 * workspace's; not published). Shards edited the way a buggy writer or
 * damage would leave them.
 */
export { editedShards } from './shards.js';
