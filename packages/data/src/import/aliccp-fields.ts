/**
 * Ali-CCP's feature fields (ESMM paper, table of features): 101 user id,
 * 121–129 user profile, 109_14/110_14/127_14/150_14 the user's category,
 * shop, brand and intention histories, 205–216 item, shop, category,
 * intention and brand, 508/509/702/853 combinations, 301 the scenario.
 * Output columns are `f<field>`: graph input names cannot start with a digit.
 */
export const ALICCP_FIELDS = [
  '101', '109_14', '110_14', '127_14', '150_14', '121', '122', '124', '125', '126', '127', '128', '129',
  '205', '206', '207', '210', '216', '508', '509', '702', '853', '301',
];

export const aliccpColumn = (field: string): string => `f${field}`;

/** Collects one sample's feature ids by field; ids of multi-valued fields are joined with `|`. */
export class FieldBag {
  private readonly ids = new Map<string, string[]>();
  unknown = 0;
  constructor(private readonly known: ReadonlySet<string>) {}

  add(field: string, id: string): void {
    if (!this.known.has(field)) {
      this.unknown++;
      return;
    }
    const list = this.ids.get(field);
    if (list) list.push(id);
    else this.ids.set(field, [id]);
  }

  cells(fields: readonly string[]): (string | null)[] {
    return fields.map((f) => this.ids.get(f)?.join('|') ?? null);
  }
}
