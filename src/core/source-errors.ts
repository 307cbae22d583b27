/**
 * The one "list of positioned errors" of Rampart: what the config loader, the OpenAPI
 * loader and `rampart start` report, each error as `file:line:col  /json/pointer  message`.
 */

/** One problem in a source file, with the place it was found. */
export interface SourceError {
  file: string;
  /** 1-based. Absent when the position is unknown (e.g. the file could not be read). */
  line?: number;
  /** 1-based. */
  column?: number;
  /** JSON pointer (RFC 6901) inside the file, e.g. `/apis/0/versions/1/spec`; `''` is the root. */
  path: string;
  /** What was expected and what was found, e.g. `expected integer between 1 and 65535, got "abc"`. */
  message: string;
}

/**
 * `file:line:col  /json/pointer  message` — the one format every loader error is printed in.
 * @example
 * formatSourceError({ file: 'rampart.yaml', line: 3, column: 9, path: '/listen/port', message: 'expected integer' })
 * // 'rampart.yaml:3:9  /listen/port  expected integer'
 */
export function formatSourceError(e: SourceError): string {
  const where = e.line !== undefined ? `${e.file}:${e.line}:${e.column ?? 1}` : e.file;
  return `${where}  ${e.path === '' ? '/' : e.path}  ${e.message}`;
}

/**
 * Thrown when a source (rampart.yaml, an OpenAPI document, the whole startup set) is
 * invalid: every error, not just the first. `what` names the source in the message.
 */
export class SourceErrors extends Error {
  override name = 'SourceErrors';
  readonly errors: SourceError[];
  constructor(errors: SourceError[], what = 'configuration') {
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in ${what}:\n${errors.map(formatSourceError).join('\n')}`,
    );
    this.errors = errors;
  }
}
