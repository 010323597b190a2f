import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataConfig } from './config.js';
import { fitEncoders } from './encode/fit.js';
import { FIXTURES, tempDir } from './testing/tmp.js';

const tmp = await tempDir();

describe('config inference on the real label-encoded Ali-CCP sample', () => {
  it('finds click/purchase, no DAction, 23 id fields and 8 scaled numbers', async () => {
    const enc = await fitEncoders(join(FIXTURES, 'aliccp_torchrechub_train_sample.csv'));
    expect(enc.config.labels).toEqual({ click: 'click', daction: [], buy: 'purchase' });
    const kinds = enc.schema.fields.map((f) => f.kind);
    expect(kinds.filter((k) => k === 'categorical')).toHaveLength(23);
    expect(kinds.filter((k) => k === 'numeric')).toHaveLength(8);
    // Column `101` (the user id) becomes field f101, a valid graph input name.
    expect(enc.config.fields[0]).toMatchObject({ name: 'f101', column: '101' });
    expect(enc.schema.userField).toBe('f101');
  });
});

describe('loadDataConfig', () => {
  it('reads YAML and JSON with the same meaning', async () => {
    const yaml = tmp('c.yaml');
    const json = tmp('c.json');
    await writeFile(yaml, 'labels:\n  daction: [cart, wish]\nnumeric: [price]\nhash:\n  item_id: 1000\n');
    await writeFile(json, JSON.stringify({ labels: { daction: ['cart', 'wish'] }, numeric: ['price'], hash: { item_id: 1000 } }));
    expect(await loadDataConfig(yaml)).toEqual(await loadDataConfig(json));
    await writeFile(yaml, 'minCount: 0\n');
    await expect(loadDataConfig(yaml)).rejects.toThrow(`${yaml}: minCount: Too small`);
  });
});
