import { readFileSync } from 'node:fs';
import { parseConfig } from '@ticketing/common';
import type { IContainer } from 'kubernetes-models/v1/Container';
import {
  eventStreamRoutes,
  healthPaths,
  imageName,
  mongoName,
  publicRoutes,
  type ServiceName,
  serviceNames,
  webName,
} from './contract';
import {
  backendOf,
  containersOf,
  type K8sObject,
  named,
  natsConfigFiles,
  type Overlay,
  ofKind,
  overlays,
  renderOverlay,
  resolveEnv,
  resolvePort,
  type ServiceObject,
  schemaProblems,
  secretValues,
  selects,
  type Workload,
  workloads,
} from './manifests';
import { isMap, isVariable, type NatsMap, type NatsValue, parseNatsConf } from './nats-conf';
import { repoPath } from './repo';
import { serviceConfig } from './service-config';

function deploymentOf(objects: K8sObject[], service: ServiceName | typeof webName): Workload {
  return named<Workload>(objects, 'Deployment', service);
}

function appContainer(workload: Workload): IContainer {
  const containers = containersOf(workload);
  if (containers.length !== 1) throw new Error(`${workload.metadata.name}: expected one container`);
  return containers[0]!;
}

/** The NATS server's container (in prod a json-exporter runs beside it: infra/observability). */
function natsContainer(statefulSet: Workload): IContainer {
  const container = containersOf(statefulSet).find((c) => c.name === 'nats');
  if (!container) throw new Error(`${statefulSet.metadata.name}: no container named nats`);
  return container;
}

/** The NATS server config as the rendered ConfigMap holds it. */
function natsConf(objects: K8sObject[]): NatsMap {
  return parseNatsConf('nats.conf', natsConfigFiles(objects));
}

function variablesIn(value: NatsValue, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') return found;
  if (Array.isArray(value)) for (const item of value) variablesIn(item, found);
  else if (isVariable(value)) found.add(value.variable);
  else for (const item of Object.values(value)) variablesIn(item, found);
  return found;
}

/** Secret-held variables of the dev overlay, by service: stand-ins for production's operator-made Secrets. */
function devSecretStandIns(service: ServiceName): Record<string, string> {
  const dev = renderOverlay('dev');
  return resolveEnv(appContainer(deploymentOf(dev, service)), secretValues(dev)).env;
}

const nonRootProblems = (workload: Workload): string[] => {
  const label = `${workload.kind}/${workload.metadata.name}`;
  const pod = workload.spec.template.spec!;
  const problems: string[] = [];
  const podContext = pod.securityContext ?? {};
  if (pod.automountServiceAccountToken !== false)
    problems.push(`${label}: automountServiceAccountToken is not false`);
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${label}: uses host namespaces`);
  if (pod.volumes?.some((v) => v.hostPath)) problems.push(`${label}: mounts a hostPath`);
  if (podContext.runAsUser === 0) problems.push(`${label}: runs as root`);
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const where = `${label} container ${container.name}`;
    const context = container.securityContext ?? {};
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
      problems.push(`${where}: runAsNonRoot is not true`);
    if (context.runAsUser === 0) problems.push(`${where}: runs as root`);
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault')
      problems.push(`${where}: seccomp profile is ${seccomp}, not RuntimeDefault`);
    if (context.allowPrivilegeEscalation !== false)
      problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (context.privileged) problems.push(`${where}: privileged`);
    if (context.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
    if (!context.capabilities?.drop?.includes('ALL'))
      problems.push(`${where}: capabilities not dropped (ALL)`);
    if ((context.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities`);
    const resources = container.resources;
    for (const key of ['cpu', 'memory']) {
      if (!resources?.requests?.[key]) problems.push(`${where}: no ${key} request`);
    }
    if (!resources?.limits?.memory) problems.push(`${where}: no memory limit`);
  }
  return problems;
};

describe.each(overlays)('overlay %s', (overlay: Overlay) => {
  let objects: K8sObject[];

  beforeAll(() => {
    objects = renderOverlay(overlay);
  });

  test('renders with kustomize; every object is valid against the Kubernetes schema of its kind', () => {
    expect(objects.length).toBeGreaterThan(20);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  test('no two objects share kind and name', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
  });

  test('every pod runs non-root, without capabilities, on a read-only root filesystem, with seccomp and resources', () => {
    expect(workloads(objects).flatMap(nonRootProblems)).toEqual([]);
  });

  test('project images are the skaffold artifacts; every other image is pinned to a version', () => {
    const problems: string[] = [];
    for (const workload of workloads(objects)) {
      for (const container of containersOf(workload)) {
        const image = container.image ?? '';
        if (image.startsWith('ticketing/')) {
          const service = [...serviceNames, webName].find((s) => workload.metadata.name === s);
          if (!service || image !== imageName(service)) {
            problems.push(`${workload.metadata.name}: runs ${image}, which is not its own service's image`);
          }
        } else if (!/^[^:@]+(:[^:@]+|@sha256:[a-f0-9]{64})$/.test(image) || image.endsWith(':latest')) {
          problems.push(`${workload.metadata.name}: image ${image} is not pinned to a version`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  describe.each(serviceNames)('service %s', (service: ServiceName) => {
    test('its Deployment runs its image, one container, labelled and selected by its name', () => {
      const deployment = deploymentOf(objects, service);
      expect(appContainer(deployment).image).toBe(imageName(service));
      expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': service });
      expect(selects(deployment.spec.selector.matchLabels, deployment.spec.template.metadata?.labels)).toBe(
        true,
      );
    });

    test("its environment satisfies the service's config schema: required set, nothing unknown, all valid", () => {
      const config = serviceConfig(service);
      const container = appContainer(deploymentOf(objects, service));
      const standIns = overlay === 'prod' ? devSecretStandIns(service) : {};
      const resolved = resolveEnv(container, secretValues(objects), standIns);
      expect(resolved.problems).toEqual([]);
      const names = (container.env ?? []).map((e) => e.name);
      expect({
        source: config.source,
        missing: config.required.filter((name) => !names.includes(name)),
      }).toEqual({
        source: config.source,
        missing: [],
      });
      expect({
        source: config.source,
        unknown: names.filter((name) => !config.known.includes(name)),
      }).toEqual({
        source: config.source,
        unknown: [],
      });
      expect({ source: config.source, problems: config.problems(resolved.env) }).toEqual({
        source: config.source,
        problems: [],
      });
    });

    test('the edge is explicit: TRUST_PROXY names the ingress hop, the keep-alive outlasts ingress-nginx', () => {
      const env = Object.fromEntries(
        (appContainer(deploymentOf(objects, service)).env ?? []).map((e) => [e.name, e.value]),
      );
      // Left to its default (loopback), every client would look like the ingress and share one budget.
      expect(env.TRUST_PROXY).toBe('1');
      expect(Number(env.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS)).toBeGreaterThan(60);
      expect(env.HOST ?? '0.0.0.0').toBe('0.0.0.0');
    });

    test('PORT = container port = probe ports = Service target; probes on /healthz and /readyz', () => {
      const deployment = deploymentOf(objects, service);
      const container = appContainer(deployment);
      const port = Number(container.env?.find((e) => e.name === 'PORT')?.value ?? '3000');
      expect(container.ports?.map((p) => p.containerPort)).toEqual([port]);
      const probe = (kind: 'readinessProbe' | 'livenessProbe' | 'startupProbe') => {
        const httpGet = container[kind]?.httpGet;
        return httpGet && { path: httpGet.path, port: resolvePort(container, httpGet.port) };
      };
      expect(probe('readinessProbe')).toEqual({ path: healthPaths.readiness, port });
      expect(probe('livenessProbe')).toEqual({ path: healthPaths.liveness, port });
      if (container.startupProbe) expect(probe('startupProbe')).toEqual({ path: healthPaths.liveness, port });
      const service_ = named<ServiceObject>(objects, 'Service', service);
      for (const servicePort of service_.spec.ports ?? []) {
        expect(backendOf(objects, service, servicePort.port)).toMatchObject({
          workload: deployment,
          containerPort: port,
        });
      }
      const annotations = deployment.spec.template.metadata?.annotations ?? {};
      if (annotations['prometheus.io/port']) {
        expect(annotations).toMatchObject({
          'prometheus.io/port': String(port),
          'prometheus.io/path': healthPaths.metrics,
        });
      }
    });

    test('MONGO_URL points at its own MongoDB: Service → StatefulSet with a volume claim on /data/db', () => {
      const container = appContainer(deploymentOf(objects, service));
      const url = new URL(container.env?.find((e) => e.name === 'MONGO_URL')?.value ?? '');
      expect(url.protocol).toBe('mongodb:');
      const host = url.hostname.split('.')[0]!;
      expect(host).toBe(mongoName(service));
      const backend = backendOf(objects, host, Number(url.port || 27017));
      expect(backend.workload.kind).toBe('StatefulSet');
      expect(backend.workload.metadata.name).toBe(mongoName(service));
      expect(backend.containerPort).toBe(27017);
      expect(backend.container.image).toMatch(/^mongo:7(\.|$)/);
      const statefulSet = backend.workload as Workload & {
        spec: { serviceName: string; volumeClaimTemplates?: Array<{ metadata: { name: string } }> };
      };
      expect(statefulSet.spec.serviceName).toBe(host);
      expect(named<ServiceObject>(objects, 'Service', host).spec.clusterIP).toBe('None');
      const claims = statefulSet.spec.volumeClaimTemplates?.map((c) => c.metadata.name) ?? [];
      const dataMount = backend.container.volumeMounts?.find((m) => m.mountPath === '/data/db');
      expect(dataMount && claims.includes(dataMount.name)).toBe(true);
    });

    test('connects to NATS as its own user, with the password the NATS server has for that user', () => {
      const container = appContainer(deploymentOf(objects, service));
      const env = new Map((container.env ?? []).map((e) => [e.name, e]));
      for (const server of (env.get('NATS_URL')?.value ?? '').split(',')) {
        const url = new URL(server.trim());
        expect(url.protocol).toBe('nats:');
        const backend = backendOf(objects, url.hostname.split('.')[0]!, Number(url.port || 4222));
        expect(backend.workload.metadata.name).toBe('nats');
        expect(String(backend.containerPort)).toBe(natsConf(objects).port);
      }
      expect(env.get('NATS_USER')?.value).toBe(service);
      const password = env.get('NATS_PASSWORD')?.valueFrom?.secretKeyRef;
      expect(password?.key).toBe(service);
      const nats = natsContainer(named<Workload>(objects, 'StatefulSet', 'nats'));
      const serverSide = nats.env?.find((e) => e.name === `NATS_PASSWORD_${service.toUpperCase()}`);
      expect(serverSide?.valueFrom?.secretKeyRef).toEqual(password);
    });
  });

  type IngressObject = {
    metadata: { name: string; annotations?: Record<string, string> };
    spec: {
      ingressClassName?: string;
      rules: Array<{
        http: {
          paths: Array<{
            path: string;
            pathType: string;
            backend: { service: { name: string; port: { name?: string; number?: number } } };
          }>;
        };
      }>;
    };
  };

  /** path → [pathType, the workload behind it] of one Ingress. */
  const routesOf = (ingress: IngressObject) => {
    const routes: Record<string, [string, string]> = {};
    for (const rule of ingress.spec.rules) {
      for (const path of rule.http.paths) {
        const { name, port } = path.backend.service;
        const backend = backendOf(objects, name, port.name ?? port.number!);
        routes[path.path] = [path.pathType, backend.workload.metadata.name];
      }
    }
    return routes;
  };

  test('the ingress (ingress-nginx) routes each public prefix to its service, / to the shop, and nothing else', () => {
    const ingresses = ofKind<IngressObject>(objects, 'Ingress');
    expect(ingresses.map((i) => i.metadata.name).sort()).toEqual(['ticketing', 'ticketing-streams']);
    const ingress = ingresses.find((i) => i.metadata.name === 'ticketing')!;
    expect(ingress.spec.ingressClassName).toBe('nginx');
    const expected = Object.fromEntries([
      ...serviceNames.filter((s) => publicRoutes[s]).map((s) => [publicRoutes[s]!, ['Prefix', s]] as const),
      ['/', ['Prefix', webName]] as const,
    ]);
    expect(routesOf(ingress)).toEqual(expected);
  });

  test('the event streams have their own Ingress: exact paths, unbuffered, hour-long reads', () => {
    const streams = ofKind<IngressObject>(objects, 'Ingress').find(
      (i) => i.metadata.name === 'ticketing-streams',
    )!;
    expect(streams.spec.ingressClassName).toBe('nginx');
    expect(routesOf(streams)).toEqual(
      Object.fromEntries(
        Object.entries(eventStreamRoutes).map(([path, service]) => [path, ['Exact', service]]),
      ),
    );
    const annotations = streams.metadata.annotations ?? {};
    expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
    // Longer than the 15 s between keep-alive comments, by far.
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(600);
  });

  test('the shop: its image, probes on its port, no NATS or Mongo, its env satisfies its config schema', () => {
    const deployment = deploymentOf(objects, webName);
    const container = appContainer(deployment);
    expect(container.image).toBe(imageName(webName));
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
    expect(Object.keys(env).filter((name) => /MONGO|NATS|JWT/.test(name))).toEqual([]);
    const port = Number(env.PORT);
    expect(container.ports?.[0]?.containerPort).toBe(port);
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe])
      expect(probe?.httpGet?.port).toBe('http');
    expect(container.readinessProbe?.httpGet?.path).toBe(healthPaths.readiness);
    expect(container.livenessProbe?.httpGet?.path).toBe(healthPaths.liveness);
    // Read from the source, as the services' schemas are (service-config.ts).
    const { clientConfigSchema } = require(repoPath('services', webName, 'src', 'server', 'config.ts')) as {
      clientConfigSchema: Parameters<typeof parseConfig>[0] & { shape: Record<string, unknown> };
    };
    expect(Object.keys(env).filter((name) => !(name in clientConfigSchema.shape))).toEqual([]);
    expect(() => parseConfig(clientConfigSchema, env)).not.toThrow();
  });

  test('NATS: client and monitoring ports, JetStream on the volume claim, every $VARIABLE provided', () => {
    const conf = natsConf(objects);
    const statefulSet = named<
      Workload & { spec: { volumeClaimTemplates?: Array<{ metadata: { name: string } }> } }
    >(objects, 'StatefulSet', 'nats');
    const nats = natsContainer(statefulSet);
    expect(conf.port).toBe('4222');
    expect(conf.http_port).toBe('8222');
    expect(resolvePort(nats, 'client')).toBe(4222);
    expect(resolvePort(nats, 'monitor')).toBe(8222);
    for (const probe of [nats.readinessProbe, nats.livenessProbe, nats.startupProbe]) {
      expect(resolvePort(nats, probe?.httpGet?.port)).toBe(8222);
    }
    const jetstream = conf.jetstream;
    expect(isMap(jetstream)).toBe(true);
    const storeDir = String((jetstream as NatsMap).store_dir);
    const claims = statefulSet.spec.volumeClaimTemplates?.map((c) => c.metadata.name) ?? [];
    const storeMount = nats.volumeMounts?.find((m) => storeDir.startsWith(`${m.mountPath}/`));
    expect(storeMount && claims.includes(storeMount.name)).toBe(true);
    const pidDir = String(conf.pid_file).replace(/\/[^/]+$/, '');
    expect(nats.volumeMounts?.some((m) => m.mountPath === pidDir)).toBe(true);
    const provided = (nats.env ?? []).map((e) => e.name);
    expect([...variablesIn(conf)].filter((name) => !provided.includes(name))).toEqual([]);
    expect(backendOf(objects, 'nats', 'monitor').containerPort).toBe(8222);
  });

  test('every Secret key a pod reads is defined (dev: generated; prod: created by the operator)', () => {
    const secrets = secretValues(objects);
    const problems: string[] = [];
    for (const workload of workloads(objects)) {
      for (const container of containersOf(workload)) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (!ref) continue;
          if (overlay === 'dev' && secrets.get(ref.name ?? '')?.[ref.key] === undefined) {
            problems.push(
              `${workload.metadata.name}: ${variable.name} reads ${ref.name}/${ref.key}, which is not generated`,
            );
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('overlay dev', () => {
  const objects = () => renderOverlay('dev');

  test('one replica of everything, one NATS server, streams at one replica', () => {
    for (const workload of workloads(objects()))
      expect([workload.metadata.name, workload.spec.replicas]).toEqual([workload.metadata.name, 1]);
    expect(natsConf(objects()).cluster).toBeUndefined();
    for (const service of serviceNames) {
      const env = appContainer(deploymentOf(objects(), service)).env ?? [];
      expect(env.find((e) => e.name === 'NATS_STREAM_REPLICAS')?.value ?? '1').toBe('1');
    }
    expect(
      objects().filter((o) => ['HorizontalPodAutoscaler', 'PodDisruptionBudget'].includes(o.kind)),
    ).toEqual([]);
  });

  test('its generated Secrets hold obviously fake values', () => {
    const secrets = secretValues(objects());
    expect([...secrets.keys()].length).toBeGreaterThan(0);
    for (const [name, values] of secrets) {
      for (const [key, value] of Object.entries(values))
        expect([name, key, value]).toEqual([name, key, expect.stringMatching(/dev/)]);
    }
  });

  test('URLs with a bare host name point at a Service of the overlay (e.g. payments → stripe-mock)', () => {
    const problems: string[] = [];
    for (const service of serviceNames) {
      for (const variable of appContainer(deploymentOf(objects(), service)).env ?? []) {
        if (!variable.value || !/^[a-z+]+:\/\//.test(variable.value)) continue;
        for (const part of variable.value.split(',')) {
          const url = new URL(part.trim());
          if (url.hostname.includes('.')) continue;
          try {
            backendOf(objects(), url.hostname, Number(url.port || 80));
          } catch (error) {
            problems.push(`${service} ${variable.name}: ${(error as Error).message}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('overlay prod', () => {
  const objects = () => renderOverlay('prod');

  test('everything lives in the namespace ticketing, which enforces Pod Security "restricted"', () => {
    const namespace = named(objects(), 'Namespace', 'ticketing');
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const outside = objects().filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'ticketing');
    expect(outside.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  test('no Secret is committed: every one the pods read is made by infra/scripts/create-prod-secrets.sh and documented', () => {
    expect(ofKind(objects(), 'Secret')).toEqual([]);
    const script = readFileSync(repoPath('infra', 'scripts', 'create-prod-secrets.sh'), 'utf8').replace(
      /\\\n/g,
      ' ',
    );
    const created = new Set<string>();
    for (const match of script.matchAll(/create secret generic (\S+)([^\n]*)/g)) {
      for (const literal of match[2]!.matchAll(/--from-literal=([A-Za-z0-9_.-]+)=/g))
        created.add(`${match[1]}/${literal[1]}`);
    }
    const readme = readFileSync(repoPath('infra', 'README.md'), 'utf8');
    const referenced = new Set<string>();
    for (const workload of workloads(objects())) {
      for (const container of containersOf(workload)) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref) referenced.add(`${ref.name}/${ref.key}`);
        }
      }
    }
    expect([...referenced].filter((ref) => !created.has(ref))).toEqual([]);
    expect([...created].filter((ref) => !referenced.has(ref))).toEqual([]);
    const secretNames = new Set([...referenced].map((ref) => ref.split('/')[0]!));
    for (const ingress of ofKind<{ spec: { tls?: Array<{ secretName: string }> } }>(objects(), 'Ingress')) {
      for (const tls of ingress.spec.tls ?? []) secretNames.add(tls.secretName);
    }
    expect([...secretNames].filter((name) => !readme.includes(name))).toEqual([]);
  });

  test('two or more replicas of every service, each with a PodDisruptionBudget and a HorizontalPodAutoscaler', () => {
    const budgets = ofKind<{
      spec: {
        minAvailable?: number;
        maxUnavailable?: number;
        selector: { matchLabels: Record<string, string> };
      };
    }>(objects(), 'PodDisruptionBudget');
    const autoscalers = ofKind<{
      spec: {
        scaleTargetRef: { apiVersion: string; kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
      };
    }>(objects(), 'HorizontalPodAutoscaler');
    for (const service of serviceNames) {
      const deployment = deploymentOf(objects(), service);
      const replicas = deployment.spec.replicas ?? 1;
      expect([service, replicas >= 2]).toEqual([service, true]);
      const podLabels = deployment.spec.template.metadata?.labels;
      const budget = budgets.filter((b) => selects(b.spec.selector.matchLabels, podLabels));
      expect([service, budget.length]).toEqual([service, 1]);
      const { minAvailable, maxUnavailable } = budget[0]!.spec;
      // A budget that allows no disruption at the minimum scale would block every node drain.
      expect([service, minAvailable !== undefined ? minAvailable < 2 : (maxUnavailable ?? 0) >= 1]).toEqual([
        service,
        true,
      ]);
      const autoscaler = autoscalers.filter((a) => a.spec.scaleTargetRef.name === service);
      expect([service, autoscaler.length]).toEqual([service, 1]);
      expect(autoscaler[0]!.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: service,
      });
      expect(autoscaler[0]!.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(autoscaler[0]!.spec.maxReplicas).toBeGreaterThanOrEqual(autoscaler[0]!.spec.minReplicas);
    }
    expect(autoscalers.length).toBe(serviceNames.length);
  });

  test('NATS: a three-node cluster routed through the headless Service, streams at three replicas, quorum kept', () => {
    const statefulSet = named<Workload & { spec: { serviceName: string } }>(objects(), 'StatefulSet', 'nats');
    const replicas = statefulSet.spec.replicas ?? 1;
    expect(replicas).toBe(3);
    const cluster = natsConf(objects()).cluster;
    expect(isMap(cluster)).toBe(true);
    const { port, routes } = cluster as NatsMap;
    const nats = natsContainer(statefulSet);
    expect(Number(port)).toBe(resolvePort(nats, 'cluster'));
    const headless = named<ServiceObject>(objects(), 'Service', statefulSet.spec.serviceName);
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(headless.spec.ports?.some((p) => p.port === Number(port))).toBe(true);
    expect(routes).toEqual(
      Array.from({ length: replicas }, (_, i) => `nats://nats-${i}.${statefulSet.spec.serviceName}:${port}`),
    );
    for (const service of serviceNames) {
      const env = appContainer(deploymentOf(objects(), service)).env ?? [];
      expect([service, env.find((e) => e.name === 'NATS_STREAM_REPLICAS')?.value]).toEqual([
        service,
        String(replicas),
      ]);
    }
    const budget = ofKind<{
      spec: { maxUnavailable?: number; selector: { matchLabels: Record<string, string> } };
    }>(objects(), 'PodDisruptionBudget').find((b) =>
      selects(b.spec.selector.matchLabels, statefulSet.spec.template.metadata?.labels),
    );
    // R3 streams need two of three servers: at most one may be down for maintenance.
    expect(budget?.spec.maxUnavailable).toBe(Math.floor((replicas - 1) / 2));
  });
});
