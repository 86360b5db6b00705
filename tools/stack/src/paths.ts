import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { toolsCacheDir } from '@ticketing/testing';

/** The repository root (tools/stack/{src,dist}/ → ../../..). */
export const repoRoot = resolve(__dirname, '..', '..', '..');

/** Where the stack keeps NATS and Mongo data and stack.json: `TICKETING_DATA_DIR` or `<repo>/.data`. */
export function dataDir(): string {
  return process.env.TICKETING_DATA_DIR ?? join(repoRoot, '.data');
}

/** A binary from the tools cache (`.ci/install-tools.sh`) or PATH, if present. */
export function findTool(name: string): string | undefined {
  const candidates = [
    join(toolsCacheDir(), 'bin', name),
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)),
  ];
  return candidates.find((candidate) => candidate && existsSync(candidate));
}
