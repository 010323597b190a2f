/*
 * The protobuf text format (https://protobuf.dev/reference/protobuf/textformat-spec/),
 * as far as Triton's config.pbtxt needs it: `field: value`, `field { … }` or
 * `field < … >`, lists `[ … ]`, `#` comments, `,`/`;` separators, quoted
 * strings (adjacent ones concatenate), numbers and enum names. Not read:
 * extensions, `Any`, hex/octal numbers, octal/unicode string escapes.
 *
 * No well-kept npm library fits: protobufjs has no text format, and
 * @bufbuild/protobuf's (`@bufbuild/protobuf/txtpb`, 2.13+) parses against a
 * descriptor of the message, so it would need Triton's model_config.proto
 * compiled in (a second protobuf library and a generated file) for the
 * dozen fields read here. What is read and written is declared once, as `Fields`.
 */

/** What a field holds: one string, integer or enum name, integers (repeated), a message, or messages (repeated). */
export type FieldKind = 'string' | 'int' | 'enum' | 'ints' | Fields | [Fields];
export interface Fields {
  readonly [field: string]: FieldKind;
}

/** A bare identifier value (TYPE_FP32, KIND_CPU, true). */
class EnumValue {
  constructor(readonly name: string) {}
}
type TextValue = string | number | EnumValue | TextMessage;
/** A message as parsed: every field maps to the list of its values (repeated or not). */
interface TextMessage {
  [field: string]: TextValue[];
}

// Blanks and comments (skipped), punctuation, a string, a number, an identifier; a number or identifier must end at a delimiter.
const TOKEN = /(\s+|#.*)|([{}[\]:,;<>])|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(?:([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*))(?![\w.+-])/y;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };

interface Token {
  kind: 'punct' | 'string' | 'number' | 'ident' | 'end';
  text: string;
  value: string | number;
  /** Offset in the text. */
  at: number;
}

function tokenize(text: string, fail: (at: number, what: string) => never): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < text.length; ) {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (!m) {
      if (text[i] === '"' || text[i] === "'") fail(i, 'unterminated string');
      const word = /[\w.+-]+/y;
      word.lastIndex = i;
      const w = word.exec(text)?.[0];
      return fail(i, w === undefined ? `unexpected character '${text[i]}'` : `unexpected '${w}'`);
    }
    const [all, blank, punct, string, number, ident] = m;
    if (punct !== undefined) tokens.push({ kind: 'punct', text: punct, value: punct, at: i });
    else if (string !== undefined) {
      const value = string.slice(1, -1).replace(/\\(.)/g, (_, e: string, k: number) => ESCAPES[e] ?? fail(i + 1 + k, `unsupported escape \\${e}`));
      tokens.push({ kind: 'string', text: string, value, at: i });
    } else if (number !== undefined) tokens.push({ kind: 'number', text: number, value: Number(number), at: i });
    else if (blank === undefined) tokens.push({ kind: 'ident', text: ident!, value: ident!, at: i });
    i += all.length;
  }
  tokens.push({ kind: 'end', text: 'end of file', value: '', at: text.length });
  return tokens;
}

/** `line:column` (1-based) of an offset. */
function position(text: string, at: number): string {
  const before = text.slice(0, at);
  return `${before.split('\n').length}:${at - before.lastIndexOf('\n')}`;
}

function parse(text: string, path: string): TextMessage {
  const fail = (at: number, what: string): never => {
    throw new Error(`${path}:${position(text, at)}: ${what}`);
  };
  const tokens = tokenize(text, fail);
  let pos = 0;
  const expected = (what: string): never => {
    const t = tokens[pos]!;
    return fail(t.at, `expected ${what}, found ${t.kind === 'end' ? 'end of file' : `'${t.text}'`}`);
  };
  const accept = (p: string): boolean => {
    const t = tokens[pos]!;
    if (t.kind !== 'punct' || t.text !== p) return false;
    pos++;
    return true;
  };
  const message = (close?: string): TextMessage => {
    const fields = Object.create(null) as TextMessage;
    while (close === undefined ? tokens[pos]!.kind !== 'end' : !accept(close)) {
      const name = tokens[pos]!;
      if (name.kind !== 'ident') expected(close === undefined ? 'a field name' : `a field name or '${close}'`);
      pos++;
      const colon = accept(':');
      const values = (fields[name.text] ??= []);
      if (!accept('[')) values.push(value(colon));
      else if (!accept(']')) {
        do values.push(value(colon));
        while (accept(','));
        if (!accept(']')) expected("',' or ']'");
      }
      if (!accept(',')) accept(';');
    }
    return fields;
  };
  const value = (afterColon: boolean): TextValue => {
    if (accept('{')) return message('}');
    if (accept('<')) return message('>');
    if (!afterColon) expected("':' or '{'");
    const t = tokens[pos]!;
    if (t.kind === 'punct' || t.kind === 'end') expected('a value');
    pos++;
    if (t.kind === 'ident') return new EnumValue(t.text);
    if (t.kind === 'number') return t.value;
    let s = t.value as string;
    while (tokens[pos]!.kind === 'string') s += tokens[pos++]!.value as string;
    return s;
  };
  return message();
}

function readFields(m: TextMessage, fields: Fields, fail: (what: string) => never, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, kind] of Object.entries(fields)) {
    const values = m[field];
    if (values === undefined) continue;
    const name = `${prefix}${field}`;
    const message = (v: TextValue): TextMessage => (typeof v === 'object' && !(v instanceof EnumValue) ? v : fail(`${name} must be a message { … }`));
    if (kind === 'ints') out[field] = values.map((v) => (Number.isInteger(v) ? v : fail(`${name} must be integers`)));
    else if (Array.isArray(kind)) out[field] = values.map((v, i) => readFields(message(v), kind[0], fail, `${name}[${i}].`));
    else if (values.length > 1) fail(`${name} is given ${values.length} times`);
    else {
      const v = values[0]!;
      if (typeof kind === 'object') out[field] = readFields(message(v), kind, fail, `${name}.`);
      else if (kind === 'string') out[field] = typeof v === 'string' ? v : fail(`${name} must be a string`);
      else if (kind === 'int') out[field] = Number.isInteger(v) ? v : fail(`${name} must be an integer`);
      else out[field] = v instanceof EnumValue ? v.name : fail(`${name} must be an enum name such as TYPE_FP32`);
    }
  }
  return out;
}

/**
 * Text-format text → the `fields` it gives (others are skipped), each
 * present only when given. `path` names the file in errors: with line and
 * column for syntax, with the field (`input[0].dims`) for a wrong value.
 */
export function readText(text: string, path: string, fields: Fields): Record<string, unknown> {
  return readFields(parse(text, path), fields, (what) => {
    throw new Error(`${path}: ${what}`);
  }, '');
}

function formatMessage(message: Record<string, unknown>, fields: Fields, indent: string): string {
  const inner = formatText(message, fields, `${indent}  `);
  return inner === '' ? '{ }' : `{\n${inner}${indent}}`;
}

/** The text of `value`'s `fields` (those not undefined), one per line at `indent`: what readText reads back. */
export function formatText(value: Record<string, unknown>, fields: Fields, indent = ''): string {
  let out = '';
  for (const [field, kind] of Object.entries(fields)) {
    const v = value[field];
    if (v === undefined) continue;
    if (kind === 'ints' || (Array.isArray(kind) && (v as unknown[]).length === 0)) {
      out += `${indent}${field}: [${(v as number[]).map((n) => ` ${n}`).join(',')} ]\n`;
    } else if (Array.isArray(kind)) {
      const items = (v as Record<string, unknown>[]).map((m) => `${indent}  ${formatMessage(m, kind[0], `${indent}  `)}`);
      out += `${indent}${field} [\n${items.join(',\n')}\n${indent}]\n`;
    } else if (typeof kind === 'object') {
      out += `${indent}${field} ${formatMessage(v as Record<string, unknown>, kind, indent)}\n`;
    } else {
      // JSON's escapes for what names hold (quotes, backslashes) are the text format's.
      out += `${indent}${field}: ${kind === 'string' ? JSON.stringify(v) : (v as number | string).toString()}\n`;
    }
  }
  return out;
}
