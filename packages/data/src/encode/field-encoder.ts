/** One field's encoding as the Encoders hold it (exported for RowWriter, which writes with these very functions). */
export type FieldEncoder = (
  | { kind: 'categorical'; name: string; column: string; id: (v: unknown) => number }
  | { kind: 'multiCategorical'; name: string; column: string; id: (v: unknown) => number; maxLength: number; separator: string }
  | { kind: 'numeric'; name: string; column: string; norm: (x: number) => number }
) & {
  /** The field's name as a second key rows may give it by; undefined when it is its column, or another column's name. */
  nameKey?: string | undefined;
};
