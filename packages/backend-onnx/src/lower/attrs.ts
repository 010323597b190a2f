import { AttributeType, type AttributeProto, type TensorProto } from '../proto/types.js';

/** Typed constructors for node attributes: ONNX requires `type` set on each. */
export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: number[]): AttributeProto => ({ name, type: AttributeType.INTS, ints }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  string: (name: string, s: string): AttributeProto => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) }),
  strings: (name: string, values: readonly string[]): AttributeProto => {
    const utf8 = new TextEncoder();
    return { name, type: AttributeType.STRINGS, strings: values.map((v) => utf8.encode(v)) };
  },
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttributeType.TENSOR, t }),
};
