/**
 * Escaping for XML and HTML text and attribute values. Characters XML 1.0 cannot carry
 * at all (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) become
 * U+FFFD, so a hostile response body can never make a report ill-formed.
 */
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const NOT_XML =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for element content and quoted attribute values (XML and HTML). */
export function escapeXml(value: unknown): string {
  return String(value ?? '')
    .replace(NOT_XML, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
