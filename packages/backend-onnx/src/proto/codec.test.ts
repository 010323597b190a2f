import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { runSystemPython } from '../test-support/onnx-checker.js';
import { decodeMetadataProps, decodeModel, encodeModel, onnxRoot } from './codec.js';
import { DataType, type ModelProto } from './types.js';

/** protobuf wire types by scalar name, to compare with Python's FieldDescriptor.type codes. */
const PY_TYPE: Record<string, number> = {
  double: 1, float: 2, int64: 3, uint64: 4, int32: 5, bool: 8, string: 9, bytes: 12, uint32: 13,
};
const PY_MESSAGE = 11;
const PY_ENUM = 14;

function ourFields(): Record<string, [string, number, number, boolean][]> {
  const out: Record<string, [string, number, number, boolean][]> = {};
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        out[nested.fullName.slice(1)] = nested.fieldsArray.map((f) => {
          f.resolve();
          const type = f.resolvedType instanceof protobuf.Type ? PY_MESSAGE : f.resolvedType instanceof protobuf.Enum ? PY_ENUM : PY_TYPE[f.type]!;
          return [f.name, f.id, type, f.repeated];
        });
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(onnxRoot);
  return out;
}

describe('ONNX protobuf schema', () => {
  it('has exactly the official field numbers, types and labels (checked against the onnx Python package)', (test) => {
    const ours = ourFields();
    const names = Object.keys(ours);
    expect(names).toContain('onnx.ModelProto');
    const py = JSON.parse(
      runSystemPython(
        test,
        `
import json, sys
from onnx import onnx_ml_pb2 as p
from google.protobuf import descriptor_pool
pool = p.DESCRIPTOR.pool
out = {}
for n in sys.argv[1:]:
    d = pool.FindMessageTypeByName(n)
    out[n] = {f.name: [f.number, f.type, f.label == 3] for f in d.fields}
print(json.dumps(out))
`,
        names,
      ),
    ) as Record<string, Record<string, [number, number, boolean]>>;
    for (const name of names) {
      for (const [field, id, type, repeated] of ours[name]!) {
        expect({ message: name, field, spec: [id, type, repeated] }).toEqual({ message: name, field, spec: py[name]![field] });
      }
    }
  });
});

describe('encode/decode', () => {
  const model: ModelProto = {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'test',
    model_version: 2 ** 40 + 3, // past 32 bits: must survive through long
    graph: {
      name: 'g',
      node: [{ input: ['x'], output: ['y'], op_type: 'Identity', name: 'n' }],
      initializer: [{ name: 'k', dims: [2], data_type: DataType.INT64, int64_data: [-1, 2 ** 35] }],
      input: [{ name: 'x', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_param: 'batch' }, { dim_value: 3 }] } } } }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_param: 'batch' }, { dim_value: 3 }] } } } }],
    },
    metadata_props: [{ key: 'a', value: 'b' }],
  };

  it('round-trips a model, int64 values beyond 32 bits included', () => {
    const back = decodeModel(encodeModel(model));
    expect(back.model_version).toBe(2 ** 40 + 3);
    expect(back.graph.initializer[0]!.int64_data).toEqual([-1, 2 ** 35]);
    expect(back.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 3 }]);
    expect(back.metadata_props).toEqual([{ key: 'a', value: 'b' }]);
  });

  it('is read the same way by the official onnx package', (test) => {
    const hex = Buffer.from(encodeModel(model)).toString('hex');
    const out = runSystemPython(
      test,
      `
import sys, onnx
from onnx import numpy_helper
m = onnx.load_from_string(bytes.fromhex(sys.argv[1]))
print(m.model_version, list(numpy_helper.to_array(m.graph.initializer[0])), m.graph.input[0].type.tensor_type.shape.dim[0].dim_param, m.metadata_props[0].value)
`,
      [hex],
    );
    expect(out.trim()).toBe(`${2 ** 40 + 3} [-1, ${2 ** 35}] batch b`);
  });

  it('reads metadata_props without decoding the graph', () => {
    expect(decodeMetadataProps(encodeModel(model))).toEqual([{ key: 'a', value: 'b' }]);
  });

  it('refuses int64 values a JS number cannot hold exactly', () => {
    const bytes = encodeModel({ ...model, model_version: Number.MAX_SAFE_INTEGER });
    expect(decodeModel(bytes).model_version).toBe(Number.MAX_SAFE_INTEGER);
    const Model = onnxRoot.lookupType('onnx.ModelProto');
    const big = Model.encode({ ...model, model_version: '9007199254740993' }).finish();
    expect(() => decodeModel(big)).toThrow(/model\.model_version = 9007199254740993 is beyond 2\^53/);
  });

  it('rejects a model with a wrongly typed field before writing it', () => {
    expect(() => encodeModel({ ...model, ir_version: 'eight' as unknown as number })).toThrow(/ir_version/);
  });
});
