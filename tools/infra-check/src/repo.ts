import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

/** The repository root (tools/infra-check/src → ../../..). */
export const repoRoot = resolve(__dirname, '..', '..', '..');

/** A path inside the repository. */
export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

/** A required program is not installed where the checks look for it. */
export class ToolNotFoundError extends Error {
  override readonly name = 'ToolNotFoundError';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The folders .ci/install-tools.sh installs into: `$TICKETING_TOOLS_DIR/bin`, else `~/.cache/ticketing-tools/bin`. */
export function toolDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.TICKETING_TOOLS_DIR) dirs.push(join(env.TICKETING_TOOLS_DIR, 'bin'));
  dirs.push(join(homedir(), '.cache', 'ticketing-tools', 'bin'));
  return dirs;
}

/**
 * Finds a program: `overrideVar` (e.g. NATS_SERVER_BIN) when given and set, then the tools folders, then PATH.
 * Throws a {@link ToolNotFoundError} naming every place it looked and how to install the tool.
 */
export function findTool(
  name: string,
  options: { overrideVar?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const env = options.env ?? process.env;
  const override = options.overrideVar ? env[options.overrideVar] : undefined;
  if (override) {
    if (isExecutable(override)) return override;
    throw new ToolNotFoundError(`${options.overrideVar}=${override} is not an executable file`);
  }
  const candidates = [
    ...toolDirs(env).map((dir) => join(dir, name)),
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, name)),
  ];
  const found = candidates.find((file) => existsSync(file) && isExecutable(file));
  if (found) return found;
  const where = [options.overrideVar ? `$${options.overrideVar}` : undefined, ...toolDirs(env), 'PATH']
    .filter(Boolean)
    .join(', ');
  throw new ToolNotFoundError(
    `${name} not found (looked in ${where}). Install it with: bash .ci/install-tools.sh ` +
      '(or set TICKETING_TOOLS_DIR to where it is installed).',
  );
}
