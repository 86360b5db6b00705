import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { imageName, type ServiceName, serviceNames, webName } from './contract';
import {
  type CommandRunner,
  readDockerfile,
  runShell,
  type Stage,
  type StageResult,
  simulateBuild,
} from './dockerfile';
import { parseDockerignore } from './dockerignore';
import { containersOf, named, renderOverlay, type Workload } from './manifests';
import { repoPath, repoRoot } from './repo';

/** The images: the five services and the web shop. */
type ImageName = ServiceName | typeof webName;
const imageNames: ImageName[] = [...serviceNames, webName];
const dockerfiles = Object.fromEntries(
  imageNames.map((s) => [s, readDockerfile(repoPath('services', s, 'Dockerfile'))]),
) as Record<ImageName, { text: string; stages: Stage[] }>;
/** What each image runs, from its folder. */
const mainOf = (image: ImageName) => (image === webName ? 'dist/server/main.js' : 'dist/main.js');
const ignore = parseDockerignore(readFileSync(repoPath('.dockerignore'), 'utf8'));
const rootPackage = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

/**
 * The images whose whole recipe (prune → install → build → production install) runs here: `payments` (the
 * service with the most dependencies; the five service Dockerfiles are checked to be identical otherwise) and
 * the shop (a build of its own) by default; INFRA_CHECK_IMAGES=all or a comma-separated list for others.
 */
function imagesToBuild(): ImageName[] {
  const wanted = process.env.INFRA_CHECK_IMAGES?.trim();
  if (!wanted) return ['payments', webName];
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

describe('service Dockerfiles', () => {
  test('the five are the same recipe, but for the service name', () => {
    const normalized = serviceNames.map((s) =>
      dockerfiles[s].text.replace(new RegExp(`\\b${s}\\b`, 'g'), '<service>'),
    );
    for (const text of normalized) expect(text).toBe(normalized[0]);
  });

  test('the shop’s is the same recipe too, but for the file it runs', () => {
    const steps = (image: ImageName) =>
      dockerfiles[image].text
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n')
        .replace(new RegExp(`\\b${image}\\b`, 'g'), '<service>')
        .replace(mainOf(image), '<main>');
    expect(steps(webName)).toBe(steps('payments'));
  });

  test.each(imageNames)(
    '%s: pinned Node base image of .nvmrc’s major version, turbo of the lockfile',
    (service) => {
      const { stages } = dockerfiles[service];
      const external = stages.filter((s) => !stages.some((other) => other.name === s.from));
      expect(external.map((s) => s.from)).toEqual([
        expect.stringMatching(/^node:\d+\.\d+\.\d+-(alpine|slim)[\w.]*$/),
      ]);
      const nodeMajor = readFileSync(repoPath('.nvmrc'), 'utf8').trim().split('.')[0];
      expect(external[0]!.from.startsWith(`node:${nodeMajor}.`)).toBe(true);
      const prune = stages
        .flatMap((s) => s.instructions)
        .find((i) => i.args.includes('turbo prune') || /turbo@\S+ prune/.test(i.args));
      expect(prune?.args).toContain(
        `turbo@${rootPackage.devDependencies.turbo} prune @ticketing/${service} --docker`,
      );
    },
  );

  test.each(imageNames)(
    '%s: runs `node dist/…main.js` from its folder as a non-root user, on the Deployment’s port',
    (service) => {
      const { stages } = dockerfiles[service];
      const last = stages.at(-1)!;
      const get = (keyword: string) =>
        last.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
      expect(get('CMD')).toEqual([`["node", "${mainOf(service)}"]`]);
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

  test('.dockerignore keeps local state and build output out of the context, and the sources in', () => {
    for (const path of [
      'node_modules',
      'packages/common/node_modules',
      'services/auth/dist',
      '.git',
      'infra/k8s',
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
      const results = await simulateBuild(dockerfiles[service].stages, {
        context: repoRoot,
        ignore,
        workDir: join(work, `prune-${service}`),
        baseEnv,
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

  test.each(imagesToBuild())(
    '%s: prune → npm ci → build → production install; the image starts and holds production dependencies only',
    async (service) => {
      const started = Date.now();
      const results = await simulateBuild(dockerfiles[service].stages, {
        context: repoRoot,
        ignore,
        workDir: join(work, service),
        baseEnv,
        run: runner,
        onStep,
      });
      const runtime: StageResult = [...results.values()].at(-1)!;
      const cwd = join(runtime.root, runtime.workdir);
      const modules = join(runtime.root, 'app', 'node_modules');
      expect(existsSync(join(cwd, mainOf(service)))).toBe(true);
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
