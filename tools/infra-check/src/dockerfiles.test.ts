// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, whose ${NAME} is Docker's substitution
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { imageName, type ServiceName, serviceNames, webName } from './contract';
import {
  type CommandRunner,
  declaredArgs,
  parseDockerfile,
  readDockerfile,
  resolveStages,
  runShell,
  type StageResult,
  simulateBuild,
} from './dockerfile';
import { parseDockerignore } from './dockerignore';
import { containersOf, named, renderOverlay, type Workload } from './manifests';
import { repoPath, repoRoot } from './repo';

/** The images: the services and the web shop, each the root Dockerfile built with SERVICE=<its folder>. */
type ImageName = ServiceName | typeof webName;
const imageNames: ImageName[] = [...serviceNames, webName];
const dockerfile = readDockerfile(repoPath('Dockerfile'));
const buildArgsOf = (image: ImageName) => ({ SERVICE: image });
const ignore = parseDockerignore(readFileSync(repoPath('.dockerignore'), 'utf8'));
const rootPackage = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
const packageOf = (image: ImageName) =>
  JSON.parse(readFileSync(repoPath('services', image, 'package.json'), 'utf8')) as {
    name: string;
    main: string;
  };

/** How many packages a service needs in production, as the Dockerfile's deps stage counts them (`npm ls`). */
function productionPackageCount(service: ServiceName): number {
  const ls = spawnSync(
    'npm',
    ['ls', '--omit=dev', '--all', '--parseable', `--workspace=@ticketing/${service}`],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  // npm ls exits 1 over extraneous packages of a local checkout, still listing the tree: only no list is a failure.
  const packages = new Set(ls.stdout.split('\n').filter((line) => line.includes('/node_modules/')));
  if (packages.size === 0) throw new Error(`npm ls of @ticketing/${service} listed nothing: ${ls.stderr}`);
  return packages.size;
}

/**
 * The images whose whole recipe (prune → install → build → production install) runs here: the service with the
 * most production dependencies (every service is the same recipe with another SERVICE) and the shop (a build of
 * its own) by default; INFRA_CHECK_IMAGES=all or a comma-separated list for others.
 */
function imagesToBuild(): ImageName[] {
  const wanted = process.env.INFRA_CHECK_IMAGES?.trim();
  if (!wanted) {
    const counts = serviceNames.map((service) => [service, productionPackageCount(service)] as const);
    const heaviest = counts.reduce((most, entry) => (entry[1] > most[1] ? entry : most));
    return [heaviest[0], webName];
  }
  if (wanted === 'all') return [...imageNames];
  const list = wanted.split(',').map((s) => s.trim());
  const unknown = list.filter((s) => !imageNames.includes(s as ImageName));
  if (unknown.length > 0) throw new Error(`INFRA_CHECK_IMAGES: unknown images ${unknown.join(', ')}`);
  return list as ImageName[];
}

/** This machine's environment, as bare as a container's: no npm-run variables, no node_modules/.bin on PATH. */
function containerLikeEnv(): Record<string, string> {
  const keep =
    /^(PATH|HOME|TMPDIR|LANG|LC_ALL|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS)$/;
  const npmKeep =
    /^npm_config_(registry|cache|userconfig|globalconfig|cafile|strict_ssl|proxy|https_proxy|noproxy)$/i;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (keep.test(name) || npmKeep.test(name))) env[name] = value;
  }
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes(`${'node_modules'}/.bin`))
    .join(delimiter);
  return env;
}

function lockedVersions(dir: string): Record<string, string | undefined> {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  return Object.fromEntries(
    Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .map(([p, v]) => [p, v.version]),
  );
}

/**
 * Runs RUN commands as they are. One substitution, only for one failure: `npm ci` refusing a lockfile because it
 * lacks the optional platform packages this machine's registry does not serve (every "Missing: <name>@ from
 * lock file" line without a version). Then `npm install` runs instead, and must leave every locked version as
 * it was, which is what `npm ci` guarantees.
 */
const runner: CommandRunner = async (command, cwd, env) => {
  try {
    await runShell(command, cwd, env);
  } catch (error) {
    const output = (error as { output?: string }).output ?? '';
    const missing = [...output.matchAll(/Missing: (\S+) from lock file/g)].map((m) => m[1]!);
    const onlyUnresolvable = missing.length > 0 && missing.every((spec) => spec.endsWith('@'));
    const otherLockProblems = /Invalid: lock file/.test(output);
    if (!/\bnpm ci\b/.test(command) || !onlyUnresolvable || otherLockProblems) throw error;
    console.warn(
      `npm ci refused the lockfile for ${missing.length} optional platform packages this registry does not ` +
        `serve (e.g. ${missing.slice(0, 3).join(', ')}); running npm install and checking the lockfile is unchanged`,
    );
    const before = lockedVersions(cwd);
    await runShell(command.replace(/\bnpm ci\b/g, 'npm install'), cwd, env);
    const after = lockedVersions(cwd);
    const changed = Object.keys({ ...before, ...after }).filter((path) => before[path] !== after[path]);
    if (changed.length > 0)
      throw new Error(`npm install changed locked versions: ${changed.slice(0, 10).join(', ')}`);
  }
};

/** The workspace packages a service's graph holds: itself and its workspace dependencies, dev ones included. */
function workspaceGraph(service: ImageName): string[] {
  const byName = new Map<
    string,
    { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }
  >();
  for (const folder of ['packages', 'services', 'tools']) {
    for (const entry of readdirSync(repoPath(folder))) {
      const file = repoPath(folder, entry, 'package.json');
      if (existsSync(file)) {
        const manifest = JSON.parse(readFileSync(file, 'utf8'));
        byName.set(manifest.name, manifest);
      }
    }
  }
  const graph = new Set<string>();
  const visit = (name: string) => {
    if (graph.has(name) || !byName.has(name)) return;
    graph.add(name);
    const manifest = byName.get(name)!;
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) visit(dep);
  };
  visit(`@ticketing/${service}`);
  return [...graph].sort();
}

function workspacesOf(root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return manifest.workspaces
    .map((dir) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name)
    .sort();
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('the Dockerfile', () => {
  test('one, at the root, for every image: no service has its own, SERVICE is its one build argument', () => {
    const ownDockerfiles = readdirSync(repoPath('services')).filter((s) =>
      existsSync(repoPath('services', s, 'Dockerfile')),
    );
    expect(ownDockerfiles).toEqual([]);
    expect(declaredArgs(dockerfile.stages)).toEqual(['SERVICE']);
  });

  test('pinned Node base image of .nvmrc’s major version, turbo of the lockfile pruning @ticketing/$SERVICE', () => {
    const { stages } = dockerfile;
    const external = stages.filter((s) => !stages.some((other) => other.name === s.from));
    expect(external.map((s) => s.from)).toEqual([
      expect.stringMatching(/^node:\d+\.\d+\.\d+-(alpine|slim)[\w.]*$/),
    ]);
    const nodeMajor = readFileSync(repoPath('.nvmrc'), 'utf8').trim().split('.')[0];
    expect(external[0]!.from.startsWith(`node:${nodeMajor}.`)).toBe(true);
    const prune = stages.flatMap((s) => s.instructions).find((i) => /turbo@\S+ prune/.test(i.args));
    expect(prune?.args).toContain(
      `turbo@${rootPackage.devDependencies.turbo} prune "@ticketing/\${SERVICE}" --docker`,
    );
  });

  test.each(imageNames)(
    'SERVICE=%s: runs its package’s main, copied with its dist, from its folder as a non-root user, on the Deployment’s port',
    (service) => {
      const last = resolveStages(dockerfile.stages, buildArgsOf(service)).at(-1)!;
      const get = (keyword: string) =>
        last.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
      const manifest = packageOf(service);
      expect(manifest.name).toBe(`@ticketing/${service}`);
      expect(manifest.main).toMatch(/^\.\/dist\/[\w/]+\.js$/);
      expect(get('COPY')).toContain(`/app/services/${service}/dist/ ./services/${service}/dist/`);
      expect(get('CMD')).toEqual(['["node", "."]']);
      expect(get('WORKDIR').at(-1)).toBe(`/app/services/${service}`);
      const user = get('USER').at(-1) ?? '';
      expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
      const deployment = named<Workload>(renderOverlay('dev'), 'Deployment', service);
      const container = containersOf(deployment)[0]!;
      expect(container.image).toBe(imageName(service));
      expect(Number(user.split(':')[0])).toBe(deployment.spec.template.spec?.securityContext?.runAsUser);
      expect(get('EXPOSE')).toEqual([String(container.ports?.[0]?.containerPort)]);
      expect(get('ENV')).toContain('NODE_ENV=production');
    },
  );

  test('build arguments are substituted as Docker does: per stage, ENV first; anything else is refused', () => {
    const stages = parseDockerfile(
      [
        'FROM node:20 AS one',
        'ARG NAME=fallback',
        'ENV KEPT=yes',
        'WORKDIR /app/${NAME}/$KEPT',
        'FROM one AS two',
        'ARG NAME',
        'ENV NAME=env',
        'ARG NAME',
        'WORKDIR /srv/$NAME/${KEPT}',
      ].join('\n'),
    );
    const workdirs = (args: Record<string, string>) =>
      resolveStages(stages, args).map((s) => s.instructions.find((i) => i.keyword === 'WORKDIR')!.args);
    expect(workdirs({})).toEqual(['/app/fallback/yes', '/srv/env/yes']);
    expect(workdirs({ NAME: 'given' })).toEqual(['/app/given/yes', '/srv/env/yes']);
    expect(() => resolveStages(stages, { NAMES: 'typo' })).toThrow('build arguments no ARG declares: NAMES');
    const outOfScope = parseDockerfile('FROM node:20 AS one\nARG NAME\nFROM one AS two\nWORKDIR /$NAME');
    expect(() => resolveStages(outOfScope, { NAME: 'x' })).toThrow(
      'two, line 4: WORKDIR: $NAME is neither an ARG nor an ENV of this stage',
    );
    const modifier = parseDockerfile('FROM node:20\nARG NAME\nWORKDIR /${NAME:-x}');
    expect(() => resolveStages(modifier)).toThrow('only $NAME and ${NAME} substitutions are supported');
  });

  test('.dockerignore keeps local state, build output and the recipe out of the context, and the sources in', () => {
    for (const path of [
      'node_modules',
      'packages/common/node_modules',
      'services/auth/dist',
      '.git',
      'infra/k8s',
      'Dockerfile',
    ]) {
      expect([path, ignore(path)]).toEqual([path, true]);
    }
    for (const path of [
      'package.json',
      'package-lock.json',
      'turbo.json',
      'tsconfig.base.json',
      'services/auth/src/main.ts',
    ]) {
      expect([path, ignore(path)]).toEqual([path, false]);
    }
  });
});

describe('the Dockerfile recipe, run without Docker', () => {
  let work: string;
  const baseEnv = containerLikeEnv();
  const steps: string[] = [];
  const onStep = (stage: string, command: string, ms: number) => {
    steps.push(`${seconds(ms).padStart(7)}  ${stage}: ${command.slice(0, 100)}`);
  };

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'infra-check-images-'));
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    if (steps.length > 0) console.info(`Dockerfile steps run:\n${steps.join('\n')}`);
  });

  test('turbo prune gives each image exactly its service’s workspace graph', async () => {
    const started = Date.now();
    for (const service of imageNames) {
      const results = await simulateBuild(dockerfile.stages, {
        context: repoRoot,
        ignore,
        workDir: join(work, `prune-${service}`),
        baseEnv,
        buildArgs: buildArgsOf(service),
        target: 'prune',
        run: runner,
        onStep,
      });
      const prune = results.get('prune')!;
      const pruned = join(prune.root, prune.workdir, 'out');
      expect([service, workspacesOf(join(pruned, 'json'))]).toEqual([service, workspaceGraph(service)]);
      expect(existsSync(join(pruned, 'full', 'tsconfig.base.json'))).toBe(true);
      rmSync(join(work, `prune-${service}`), { recursive: true, force: true });
    }
    console.info(`prune of ${imageNames.length} images: ${seconds(Date.now() - started)}`);
  }, 300_000);

  test.each<[string, Record<string, string>]>([
    ['a SERVICE that is no folder under services/', { SERVICE: 'nowhere' }],
    ['no SERVICE', {}],
  ])(
    '%s stops the build at prune, saying what SERVICE must be',
    async (_label, buildArgs) => {
      const build = simulateBuild(dockerfile.stages, {
        context: repoRoot,
        ignore,
        workDir: join(work, 'prune-wrong'),
        baseEnv,
        buildArgs,
        target: 'prune',
        run: runner,
      });
      await expect(build).rejects.toThrow(
        `SERVICE='${buildArgs.SERVICE ?? ''}': no services/<SERVICE>/package.json; pass --build-arg SERVICE=<folder>`,
      );
      rmSync(join(work, 'prune-wrong'), { recursive: true, force: true });
    },
    120_000,
  );

  test.each(imagesToBuild())(
    '%s: prune → npm ci → build → production install; the image starts and holds production dependencies only',
    async (service) => {
      const started = Date.now();
      const results = await simulateBuild(dockerfile.stages, {
        context: repoRoot,
        ignore,
        workDir: join(work, service),
        baseEnv,
        buildArgs: buildArgsOf(service),
        run: runner,
        onStep,
      });
      const runtime: StageResult = [...results.values()].at(-1)!;
      const cwd = join(runtime.root, runtime.workdir);
      const modules = join(runtime.root, 'app', 'node_modules');
      expect(existsSync(join(cwd, packageOf(service).main))).toBe(true);
      if (service === webName) expect(existsSync(join(cwd, 'dist', 'public', 'index.html'))).toBe(true);
      // Test tooling and compilers stay out of the image (and the shop's bundler and the libraries it bundled).
      const bundled = service === webName ? ['vite', 'preact', 'preact-iso', 'rolldown'] : [];
      for (const devOnly of [
        'typescript',
        'jest',
        '@ticketing/testing',
        'mongodb-memory-server-core',
        'turbo',
        ...bundled,
      ]) {
        expect([devOnly, existsSync(join(modules, devOnly))]).toEqual([devOnly, false]);
      }
      // Started as the image's CMD with no configuration (the shop: a bad PORT, as it needs no variable), it loads
      // all its code and stops at the config check.
      const [command, ...args] = runtime.cmd!;
      const start = spawnSync(command!, args, {
        cwd,
        env: { ...baseEnv, ...runtime.env, ...(service === webName ? { PORT: 'none' } : {}) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(start.status).toBe(1);
      expect(start.stderr).toMatch(
        service === webName ? /Invalid configuration[\s\S]*PORT/ : /Invalid configuration[\s\S]*MONGO_URL/,
      );
      console.info(`${service} image recipe: ${seconds(Date.now() - started)}`);
      rmSync(join(work, service), { recursive: true, force: true });
    },
    600_000,
  );
});
