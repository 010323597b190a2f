import { createHash } from 'node:crypto';

/**
 * The checksum model.json (version 2) records of itself: sha256 of the
 * document without its `sha256` key, as JSON.stringify writes it (compact,
 * keys in file order). Layout and whitespace may change; any value, key or
 * string that changes does not go unnoticed.
 */
export function modelJsonChecksum(doc: Record<string, unknown>): string {
  const { sha256: _recorded, ...rest } = doc;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** model.json's text for a document: its checksum stamped in (after formatVersion), 2-space indented, newline-terminated. */
export function modelJsonText(doc: Record<string, unknown>): string {
  const { format, formatVersion, sha256: _old, ...rest } = doc;
  const stamped = { format, formatVersion, sha256: modelJsonChecksum({ format, formatVersion, ...rest }), ...rest };
  return `${JSON.stringify(stamped, null, 2)}\n`;
}
