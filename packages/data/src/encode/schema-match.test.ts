import { parseFeatureSchema, type FeatureSchema } from '@esm2/core';
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../testing/tmp.js';
import type { EncodersJSON } from './encoders.js';
import { fitEncoders } from './fit.js';
import { encodersForSchema } from './schema-match.js';

const tmp = await tempDir();
let json: EncodersJSON;
let schema: FeatureSchema;
beforeAll(async () => {
  const csv = tmp('rows.csv');
  await writeFile(csv, 'user_id,item_id,tags,price,click,cart,buy\nu1,i1,a|b,1.5,1,1,0\nu2,i2,b,2.5,0,0,0\nu3,i1,c|a|b,0.5,1,0,1\n');
  const encoders = await fitEncoders(csv, { multi: ['tags'], numeric: ['price'], hash: { item_id: 16 } });
  json = structuredClone(encoders.toJSON());
  schema = encoders.schema;
});

const copy = () => structuredClone(json);
const source = '/runs/a/best/model.json';

describe('encodersForSchema', () => {
  it('accepts the encoders a schema was made from', () => {
    expect(encodersForSchema(copy(), schema, source).schema).toEqual(schema);
  });

  it('names the file and every field whose rows disagree with the embedding tables', () => {
    const emptied = copy();
    emptied.vocabularies['user_id'] = [];
    const rehashed = copy();
    (rehashed.config.fields.find((f) => f.name === 'item_id') as unknown as { encoding: { buckets: number } }).encoding.buckets = 8;
    expect(() => encodersForSchema(emptied, schema, source)).toThrow(
      `${source}: the encoders do not match the model's feature schema: field 'user_id': the encoders give a vocabulary of 0 value(s), 2 rows with OOV (encoders.vocabularies.user_id) but its embedding table has 4 rows (vocabulary)`,
    );
    expect(() => encodersForSchema(rehashed, schema, source)).toThrow("field 'item_id': the encoders give hash into 8 buckets but its embedding table has 16 rows (hash)");
  });

  it('names fields missing on either side, other kinds, list lengths and labels', () => {
    const other = parseFeatureSchema({
      fields: [
        ...schema.fields.filter((f) => f.name !== 'price' && f.name !== 'tags' && f.name !== 'user_id'),
        { kind: 'categorical', name: 'price', encoding: { kind: 'hash', buckets: 4 } },
        { ...schema.fields.find((f) => f.name === 'tags')!, maxLength: 5 },
        { kind: 'numeric', name: 'age' },
      ],
      labels: { ...schema.labels, daction: 'fav' },
    });
    const message = (() => {
      try {
        encodersForSchema(copy(), other, source);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toContain("field 'price': the encoders read it as numeric, the schema as categorical");
    expect(message).toContain("field 'tags': the encoders keep 3 values per row but the model takes 5");
    expect(message).toContain("field 'age': the encoders have no such field");
    expect(message).toContain("field 'user_id': encoded but not in the schema");
    expect(message).toContain("label daction: the encoders read column 'cart', the schema says 'fav'");
  });

  it('an unreadable encoders section is reported with its file', () => {
    expect(() => encodersForSchema({ format: 'x' }, schema, source)).toThrow(new RegExp(`^${source}: .*invalid encoders JSON`));
  });
});
