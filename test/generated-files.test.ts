import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { toJsonSchema } from '../src/core/config-loader.ts';
import { configSchema } from '../src/cli/config-schema.ts';

const ROOT = resolve(import.meta.dirname, '..');

// Generated files are committed for users and editors; they must match the code.
describe('generated files are current', () => {
  it('rampart.schema.json matches configSchema (regenerate: npm run schema)', () => {
    const committed = JSON.parse(readFileSync(resolve(ROOT, 'rampart.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(toJsonSchema(configSchema))));
  });

  it('the field reference in docs/config.md matches configSchema (regenerate: node --import tsx scripts/config-reference.ts)', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/config-reference.ts', '--check'],
      { cwd: ROOT },
    ).catch((e: { stdout: string; stderr: string; code: number }) => {
      throw new Error(`config reference is stale (exit ${e.code}): ${e.stdout}${e.stderr}`);
    });
    expect(`${stdout}${stderr}`).not.toMatch(/stale|differs/i);
  });

  it('docs/x-rampart.md matches the declared x-rampart schemas (regenerate: node --import tsx scripts/x-rampart-reference.ts)', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/x-rampart-reference.ts', '--check'],
      { cwd: ROOT },
    ).catch((e: { stdout: string; stderr: string; code: number }) => {
      throw new Error(`x-rampart reference is stale (exit ${e.code}): ${e.stdout}${e.stderr}`);
    });
    expect(`${stdout}${stderr}`).not.toMatch(/out of date/i);
  });
});
