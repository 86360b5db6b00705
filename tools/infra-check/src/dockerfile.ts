import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import type { IgnoreTest } from './dockerignore';

// A Dockerfile reader, and a runner of its build steps without Docker: every stage gets a folder standing for
// its filesystem; COPY copies (from the build context, honouring .dockerignore, or from an earlier stage);
// RUN runs the exact command with sh in the stage's WORKDIR, ENV and ARGs, using this machine's node and npm
// in place of the base image's. Build arguments are substituted as Docker does ($NAME, ${NAME}, in every
// instruction but RUN, whose shell reads them, and CMD's exec form). Paths inside RUN commands must be relative
// for this to work; instructions the runner cannot reproduce are refused, so the check cannot silently drift
// from what Docker does.

export interface Instruction {
  keyword: string;
  /** Leading `--name=value` flags (COPY --from, RUN --mount...). */
  flags: Record<string, string>;
  /** The rest of the line, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  /** The image or earlier stage it starts from. */
  from: string;
  instructions: Instruction[];
}

/** Parses a Dockerfile into stages (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!.trim();
      line = next.startsWith('#') ? line : `${line.slice(0, -1).trimEnd()} ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(line)!;
    const keyword = match[1]!.toUpperCase();
    let rest = match[2]!;
    const flags: Record<string, string> = {};
    for (let flag = /^--([a-z-]+)=(\S+)\s*/.exec(rest); flag; flag = /^--([a-z-]+)=(\S+)\s*/.exec(rest)) {
      flags[flag[1]!] = flag[2]!;
      rest = rest.slice(flag[0].length);
    }
    const instruction: Instruction = { keyword, flags, args: rest.trim(), line: start };
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`line ${start}: cannot read FROM ${instruction.args}`);
      stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`line ${start}: ${keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** The build arguments a Dockerfile declares (ARG name or name=default), in any stage. */
export function declaredArgs(stages: Stage[]): string[] {
  const names = stages
    .flatMap((s) => s.instructions)
    .filter((i) => i.keyword === 'ARG')
    .map((i) => i.args.split('=')[0]!);
  return [...new Set(names)];
}

const variable = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** Docker's substitution of `$NAME` and `${NAME}`; a name the stage neither declares nor sets is refused. */
function expand(text: string, scope: Map<string, string | undefined>, where: string): string {
  const expanded = text.replace(variable, (_match, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (!scope.has(name)) throw new Error(`${where}: $${name} is neither an ARG nor an ENV of this stage`);
    return scope.get(name) ?? '';
  });
  if (expanded.includes('${'))
    throw new Error(`${where}: only $NAME and \${NAME} substitutions are supported`);
  return expanded;
}

/**
 * The stages as Docker reads them for these build arguments: variables substituted in every instruction but
 * RUN and CMD, ARG lines with their value (`NAME=value`, or `NAME` when it has none). ARGs are in scope from
 * their line to the end of their stage; ENV also in the stages built on it.
 */
export function resolveStages(stages: Stage[], buildArgs: Record<string, string> = {}): Stage[] {
  const undeclared = Object.keys(buildArgs).filter((name) => !declaredArgs(stages).includes(name));
  if (undeclared.length > 0) throw new Error(`build arguments no ARG declares: ${undeclared.join(', ')}`);
  const envOf = new Map<string, Record<string, string>>();
  return stages.map((stage) => {
    const env: Record<string, string> = { ...envOf.get(stage.from) };
    const scope = new Map<string, string | undefined>(Object.entries(env));
    const instructions = stage.instructions.map((instruction): Instruction => {
      const where = `${stage.name}, line ${instruction.line}: ${instruction.keyword}`;
      if (instruction.keyword === 'RUN' || instruction.keyword === 'CMD') return instruction;
      const flags = Object.fromEntries(
        Object.entries(instruction.flags).map(([name, value]) => [name, expand(value, scope, where)]),
      );
      const args = expand(instruction.args, scope, where);
      if (instruction.keyword === 'ARG') {
        const arg = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(args);
        if (!arg) throw new Error(`${where}: only ARG name or name=value is supported`);
        const name = arg[1]!;
        const value = buildArgs[name] ?? arg[2];
        // An ENV of the same name wins over the ARG, in substitutions as in RUN.
        if (!(name in env)) scope.set(name, value);
        return { ...instruction, flags, args: value === undefined ? name : `${name}=${value}` };
      }
      if (instruction.keyword === 'ENV') {
        const set = parseEnv(args, instruction.line);
        Object.assign(env, set);
        for (const [name, value] of Object.entries(set)) scope.set(name, value);
      }
      return { ...instruction, flags, args };
    });
    envOf.set(stage.name, env);
    return { ...stage, instructions };
  });
}

/** What a stage looks like after its instructions ran. */
export interface StageResult {
  name: string;
  /** The folder standing for the stage's `/`. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  cmd: string[] | undefined;
  exposed: number[];
}

/** Runs one RUN command; throws on failure. */
export type CommandRunner = (command: string, cwd: string, env: Record<string, string>) => Promise<void>;

/** Runs `sh -c command`; on failure the error carries the tail of the output. */
export const runShell: CommandRunner = (command, cwd, env) =>
  new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(Object.assign(new Error(`exit ${code}: ${command}\n${output.slice(-8000)}`), { output }));
    });
  });

export interface SimulateOptions {
  /** The build context (the repository root). */
  context: string;
  /** .dockerignore of the context. */
  ignore: IgnoreTest;
  /** An empty folder for the stages' filesystems. */
  workDir: string;
  /** The base environment of RUN commands (the machine's PATH, HOME...). */
  baseEnv: Record<string, string>;
  /** `--build-arg` values; each must be declared by an ARG. */
  buildArgs?: Record<string, string>;
  /** Stop after this stage (default: run all). */
  target?: string;
  run?: CommandRunner;
  /** Called after each RUN with its duration. */
  onStep?: (stage: string, command: string, ms: number) => void;
}

function parseEnv(args: string, line: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const token of args.match(/[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|\S*)/g) ?? []) {
    const [name, ...value] = token.split('=');
    env[name!] = value.join('=').replace(/^"(.*)"$/, '$1');
  }
  if (Object.keys(env).length === 0) throw new Error(`line ${line}: only ENV name=value is supported`);
  return env;
}

/** `COPY . <dest>` from the build context: everything .dockerignore does not exclude. */
function copyContext(context: string, ignore: IgnoreTest, target: string): void {
  const walk = (relativePath: string) => {
    if (relativePath !== '' && ignore(relativePath)) return;
    const from = join(context, relativePath);
    if (statSync(from).isDirectory()) {
      mkdirSync(join(target, relativePath), { recursive: true });
      for (const entry of readdirSync(from))
        walk(relativePath === '' ? entry : posix.join(relativePath, entry));
    } else {
      cpSync(from, join(target, relativePath));
    }
  };
  walk('');
}

/** Runs the Dockerfile's stages (up to `target`) without Docker; returns each stage's result by name. */
export async function simulateBuild(
  stages: Stage[],
  options: SimulateOptions,
): Promise<Map<string, StageResult>> {
  const run = options.run ?? runShell;
  const results = new Map<string, StageResult>();
  for (const stage of resolveStages(stages, options.buildArgs)) {
    // The stage's ARGs with a value, which RUN commands see as environment variables (ENV wins).
    const args: Record<string, string> = {};
    const parent = results.get(stage.from);
    const root = join(options.workDir, stage.name);
    mkdirSync(root, { recursive: true });
    if (parent) cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
    const result: StageResult = {
      name: stage.name,
      root,
      workdir: parent?.workdir ?? '/',
      env: { ...parent?.env },
      user: parent?.user,
      cmd: parent?.cmd,
      exposed: [...(parent?.exposed ?? [])],
    };
    const inStage = (path: string) => join(root, path);
    for (const instruction of stage.instructions) {
      const where = `${stage.name}, line ${instruction.line}: ${instruction.keyword}`;
      switch (instruction.keyword) {
        case 'WORKDIR':
          result.workdir = posix.resolve(result.workdir, instruction.args);
          mkdirSync(inStage(result.workdir), { recursive: true });
          break;
        case 'ARG': {
          const [name, ...value] = instruction.args.split('=');
          if (value.length > 0) args[name!] = value.join('=');
          break;
        }
        case 'ENV':
          Object.assign(result.env, parseEnv(instruction.args, instruction.line));
          break;
        case 'COPY': {
          const { from, ...otherFlags } = instruction.flags;
          if (Object.keys(otherFlags).some((flag) => flag !== 'chown' && flag !== 'chmod')) {
            throw new Error(`${where}: flags ${Object.keys(otherFlags).join(', ')} are not supported`);
          }
          const parts = instruction.args.split(/\s+/);
          if (parts.length !== 2) throw new Error(`${where}: one source and one destination expected`);
          const [source, destination] = parts as [string, string];
          const target = inStage(posix.resolve(result.workdir, destination));
          mkdirSync(target, { recursive: true });
          if (from !== undefined) {
            const origin = results.get(from);
            if (!origin) throw new Error(`${where}: --from=${from} is not an earlier stage`);
            if (!isAbsolute(source)) throw new Error(`${where}: --from source must be absolute`);
            cpSync(join(origin.root, source), target, { recursive: true, verbatimSymlinks: true });
          } else if (source === '.') {
            copyContext(options.context, options.ignore, target);
          } else {
            throw new Error(`${where}: from the context, only COPY . is supported`);
          }
          break;
        }
        case 'RUN': {
          const { mount, ...otherFlags } = instruction.flags;
          if (
            Object.keys(otherFlags).length > 0 ||
            (mount !== undefined && !mount.startsWith('type=cache,'))
          ) {
            throw new Error(
              `${where}: only --mount=type=cache is supported (a cache does not change the result)`,
            );
          }
          const started = Date.now();
          try {
            await run(instruction.args, inStage(result.workdir), {
              ...options.baseEnv,
              ...args,
              ...result.env,
            });
          } catch (error) {
            throw Object.assign(new Error(`${where} failed: ${(error as Error).message}`), error as object);
          }
          options.onStep?.(stage.name, instruction.args, Date.now() - started);
          break;
        }
        case 'USER':
          result.user = instruction.args;
          break;
        case 'EXPOSE':
          result.exposed.push(...instruction.args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
          break;
        case 'CMD':
          result.cmd = JSON.parse(instruction.args) as string[];
          break;
        default:
          throw new Error(`${where}: not supported by the checks`);
      }
    }
    results.set(stage.name, result);
    if (stage.name === options.target) break;
  }
  return results;
}

/** A Dockerfile, read and parsed. */
export function readDockerfile(path: string): { text: string; stages: Stage[] } {
  const text = readFileSync(path, 'utf8');
  return { text, stages: parseDockerfile(text) };
}
