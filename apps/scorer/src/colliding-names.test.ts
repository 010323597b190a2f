import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactFromModel, buildModel, initWeights } from '@esm2/core';
import { writeArtifact } from '@esm2/core/node';
import { Encoders, fitEncoders } from '@esm2/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalScorer } from './local-scorer.js';
import { loadScoringModel, type ScoringModel } from './model.js';
import { buildService, type Service } from './server.js';

/**
 * An artifact saved before fitting refused colliding names: columns `x y`
 * and `x_y` became fields x_y (reading `x y`) and x_y_2 (reading `x_y`), so
 * the key x_y is both a column and another field's name.
 */
let dir: string;
let model: ScoringModel;
let local: LocalScorer;
let service: Service;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esm2-collide-'));
  const csv = join(dir, 'rows.csv');
  await writeFile(csv, ['x y,q,x-y,click,buy', 'a,p,u,1,1', 'b,q,v,0,0', 'a,q,u,1,0', 'b,p,v,1,0'].join('\n') + '\n');
  const json = (await fitEncoders(csv)).toJSON();
  const rename = <T extends { name: string }>(f: T): T => (f.name === 'q' ? { ...f, name: 'x_y_2', column: 'x_y' } : f);
  json.config.fields = json.config.fields.map(rename);
  json.schema.fields = json.schema.fields.map(rename);
  json.vocabularies = { x_y: json.vocabularies['x_y']!, x_y_2: json.vocabularies['q']!, 'x-y': json.vocabularies['x-y']! };
  const encoders = Encoders.fromJSON(JSON.parse(JSON.stringify(json)));
  const built = buildModel(encoders.schema, { towers: [8] });
  await writeArtifact(join(dir, 'best'), artifactFromModel(built, encoders.schema, initWeights(built.graph, 5), { encoders: encoders.toJSON() }));
  model = await loadScoringModel(join(dir, 'best'));
  local = await LocalScorer.create(model);
  service = buildService({ model, scorer: local });
});

afterAll(async () => {
  await service?.close();
  await local?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const v1 = async (rows: Record<string, unknown>[]) => {
  const res = await service.app.inject({ method: 'POST', url: '/v1/score', payload: { rows } });
  return { status: res.statusCode, json: res.json<{ error?: string; predictions?: Record<string, number>[] }>() };
};

describe('an existing artifact whose field names collide with columns', () => {
  it('scores rows keyed by column, and refuses a row keyed x_y meant as field x_y instead of scoring it as column x_y', async () => {
    const byColumns = [{ 'x y': 'a', x_y: 'q', 'x-y': 'v' }];
    const ok = await v1(byColumns);
    expect(ok.status).toBe(200);
    expect(ok.json.predictions).toEqual(await local.scoreRows(model, byColumns));
    const byName = await v1([{ x_y: 'a', x_y_2: 'q', 'x-y': 'v' }]);
    expect(byName.status).toBe(400);
    expect(byName.json.error).toBe("row 0, field 'x_y': missing (send it as 'x y': 'x_y' is the name of another column)");
    const twice = await v1([{ 'x y': 'a', x_y: 'q', x_y_2: 'p', 'x-y': 'v' }]);
    expect(twice.status).toBe(400);
    expect(twice.json.error).toBe("row 0, field 'x_y_2': given twice, as 'x_y' and as 'x_y_2'");
  });

  it('names /v2 tensors by column only: x_y is column x_y, never field x_y', async () => {
    const meta = await service.app.inject({ method: 'GET', url: '/v2/models/esm2' });
    expect(meta.json<{ inputs: { name: string }[] }>().inputs.map((i) => i.name)).toEqual(['x y', 'x_y', 'x-y']);
    const tensor = (name: string, value: string) => ({ name, shape: [1], datatype: 'BYTES', data: [value] });
    const infer = (inputs: unknown[]) => service.app.inject({ method: 'POST', url: '/v2/models/esm2/infer', payload: { inputs } });
    const ok = await infer([tensor('x y', 'a'), tensor('x_y', 'q'), tensor('x-y', 'v')]);
    expect(ok.statusCode).toBe(200);
    const [expected] = await local.scoreRows(model, [{ 'x y': 'a', x_y: 'q', 'x-y': 'v' }]);
    expect(ok.json<{ outputs: { name: string; data: number[] }[] }>().outputs.find((o) => o.name === 'pctr')!.data).toEqual([expected!.pctr]);
    // Sent as x_y and x_y_2, the tensor x_y is column x_y's: field x_y (column `x y`) is then missing.
    const byName = await infer([tensor('x_y', 'a'), tensor('x_y_2', 'q'), tensor('x-y', 'v')]);
    expect(byName.statusCode).toBe(400);
    expect(byName.json<{ error: string }>().error).toMatch(/input 'x_y_2': given twice/);
  });
});
