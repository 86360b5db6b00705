import { execFileSync } from 'node:child_process';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { parseAllDocuments } from 'yaml';
import { findTool, repoPath } from './repo';

/** The two kustomize overlays. */
export type Overlay = 'dev' | 'prod';
export const overlays: Overlay[] = ['dev', 'prod'];

/** One rendered Kubernetes object, as kustomize printed it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

const rendered = new Map<Overlay, K8sObject[]>();

/** Renders an overlay with the pinned kustomize (cached per process). */
export function renderOverlay(overlay: Overlay): K8sObject[] {
  const cached = rendered.get(overlay);
  if (cached) return cached;
  const kustomize = findTool('kustomize');
  const output = execFileSync(kustomize, ['build', repoPath('infra', 'k8s', 'overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const objects = parseYamlObjects(output, `kustomize build overlays/${overlay}`);
  rendered.set(overlay, objects);
  return objects;
}

/** Parses a multi-document YAML stream of Kubernetes objects; fails on YAML errors and on non-objects. */
export function parseYamlObjects(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const object = value as Partial<K8sObject>;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || !object.metadata?.name) {
      throw new Error(
        `${source}: a document without apiVersion, kind or metadata.name: ${JSON.stringify(value)}`,
      );
    }
    objects.push(object as K8sObject);
  }
  return objects;
}

interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: object): { validate(): void };
}

// The API groups the manifests may use. An object of any other apiVersion fails the check: add its group
// here (from kubernetes-models) when the manifests start using one.
const groups: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'networking.k8s.io/v1': networking,
  'policy/v1': policy,
  'autoscaling/v2': autoscaling,
  // The Prometheus operator's PrometheusRule and PodMonitor (infra/observability).
  'monitoring.coreos.com/v1': monitoring,
};

function isModelClass(value: unknown, apiVersion: string, kind: string): value is ModelClass {
  if (typeof value !== 'function') return false;
  const model = value as unknown as Partial<ModelClass>;
  return model.apiVersion === apiVersion && model.kind === kind;
}

/** The kubernetes-models class of an apiVersion/kind, or undefined when it is not a known top-level kind. */
export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const candidate = groups[apiVersion]?.[kind];
  return isModelClass(candidate, apiVersion, kind) ? candidate : undefined;
}

/** Schema problems of one object (empty when valid); an unknown kind is a problem. */
export function schemaProblems(object: K8sObject): string[] {
  const label = `${object.kind}/${object.metadata.name}`;
  const Model = modelFor(object.apiVersion, object.kind);
  if (!Model) return [`${label}: unknown kind ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [`${label}: ${(error as Error).message}`];
  }
}

/** The objects of one kind. */
export function ofKind<T = K8sObject>(objects: K8sObject[], kind: string): Array<T & K8sObject> {
  return objects.filter((o) => o.kind === kind) as Array<T & K8sObject>;
}

/** The object of a kind and name; throws when there is none. */
export function named<T = K8sObject>(objects: K8sObject[], kind: string, name: string): T & K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}`);
  return found as T & K8sObject;
}

/** Deployments and StatefulSets (the workloads with a pod template). */
export interface Workload extends K8sObject {
  spec: { replicas?: number; selector: { matchLabels?: Record<string, string> }; template: IPodTemplateSpec };
}

export function workloads(objects: K8sObject[]): Workload[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as Workload[];
}

export function containersOf(workload: Workload): IContainer[] {
  return workload.spec.template.spec?.containers ?? [];
}

/** The container port a probe or Service names (by number or by port name). */
export function resolvePort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** True when every label of `selector` is on `labels`. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** A Service, typed enough for port and selector look-ups. */
export interface ServiceObject extends K8sObject {
  spec: {
    selector?: Record<string, string>;
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    ports?: Array<{ name?: string; port: number; targetPort?: number | string }>;
  };
}

/** Where a connection to `<service>:<port>` ends up: the workload, container and container port behind it. */
export interface Backend {
  workload: Workload;
  container: IContainer;
  containerPort: number;
}

/**
 * Follows a Service port (by number or name) to the container port of the pods the Service selects.
 * Throws with the reason when there is no such Service, port, pod or container port.
 */
export function backendOf(objects: K8sObject[], serviceName: string, port: number | string): Backend {
  const service = named<ServiceObject>(objects, 'Service', serviceName);
  const servicePort = service.spec.ports?.find((p) =>
    typeof port === 'number' ? p.port === port : p.name === port,
  );
  if (!servicePort) throw new Error(`Service ${serviceName} has no port ${port}`);
  const target = servicePort.targetPort ?? servicePort.port;
  const backends = workloads(objects).filter((w) =>
    selects(service.spec.selector, w.spec.template.metadata?.labels),
  );
  if (backends.length !== 1) {
    throw new Error(`Service ${serviceName} selects ${backends.length} workloads (expected exactly one)`);
  }
  const workload = backends[0]!;
  for (const container of containersOf(workload)) {
    const containerPort = resolvePort(container, target);
    if (containerPort !== undefined && container.ports?.some((p) => p.containerPort === containerPort)) {
      return { workload, container, containerPort };
    }
  }
  throw new Error(
    `Service ${serviceName} port ${port} → ${target}: no such container port in ${workload.metadata.name}`,
  );
}

/** The values of every rendered Secret, by Secret name and key (decoded). */
export function secretValues(objects: K8sObject[]): Map<string, Record<string, string>> {
  const values = new Map<string, Record<string, string>>();
  for (const secret of ofKind<{ data?: Record<string, string>; stringData?: Record<string, string> }>(
    objects,
    'Secret',
  )) {
    const decoded: Record<string, string> = { ...secret.stringData };
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      decoded[key] = Buffer.from(value, 'base64').toString('utf8');
    }
    values.set(secret.metadata.name, decoded);
  }
  return values;
}

/** A container's environment as the process will see it, and what could not be resolved. */
export interface ResolvedEnv {
  env: Record<string, string>;
  /** Variables taken from Secrets: name → { secret, key }. */
  fromSecrets: Record<string, { secret: string; key: string }>;
  problems: string[];
}

/**
 * Resolves a container's `env`: literal values, and Secret keys from `secrets` (the rendered Secrets).
 * A Secret that is not rendered (production: created by the operator) is looked up in `standIns` by variable
 * name instead; other sources (fieldRef, configMapKeyRef...) are reported.
 */
export function resolveEnv(
  container: IContainer,
  secrets: Map<string, Record<string, string>>,
  standIns: Record<string, string> = {},
): ResolvedEnv {
  const resolved: ResolvedEnv = { env: {}, fromSecrets: {}, problems: [] };
  const seen = new Set<string>();
  for (const variable of container.env ?? []) {
    if (seen.has(variable.name)) resolved.problems.push(`${variable.name}: set twice`);
    seen.add(variable.name);
    if (variable.value !== undefined) {
      resolved.env[variable.name] = variable.value;
      continue;
    }
    const ref = variable.valueFrom?.secretKeyRef;
    if (!ref?.name) {
      resolved.problems.push(`${variable.name}: only literal values and secretKeyRef are expected`);
      continue;
    }
    resolved.fromSecrets[variable.name] = { secret: ref.name, key: ref.key };
    const secret = secrets.get(ref.name);
    const value = secret ? secret[ref.key] : standIns[variable.name];
    if (secret && value === undefined)
      resolved.problems.push(`${variable.name}: Secret ${ref.name} has no key ${ref.key}`);
    else if (value === undefined)
      resolved.problems.push(`${variable.name}: no value for Secret ${ref.name}/${ref.key}`);
    else resolved.env[variable.name] = value;
  }
  return resolved;
}

/** The files of the NATS server's ConfigMap (`nats-config`, its name suffixed with a hash by kustomize). */
export function natsConfigFiles(objects: K8sObject[]): Record<string, string> {
  const configMap = ofKind<{ data: Record<string, string> }>(objects, 'ConfigMap').find((c) =>
    /^nats-config(-[a-z0-9]+)?$/.test(c.metadata.name),
  );
  if (!configMap) throw new Error('no nats-config ConfigMap');
  return configMap.data;
}

/** Stands in for the Secret nats-jetstream in checks that run the prod config. */
export const TEST_JETSTREAM_KEY = 'a'.repeat(64);

/**
 * The NATS container's environment in an overlay, Secrets resolved (dev values stand in for prod's; the JetStream
 * key, which dev does not have, by a fixed test key).
 */
export function natsEnv(overlay: Overlay): Record<string, string> {
  const container = (objects: K8sObject[]) =>
    named<Workload>(objects, 'StatefulSet', 'nats').spec.template.spec!.containers[0]!;
  const dev = renderOverlay('dev');
  const standIns = {
    ...resolveEnv(container(dev), secretValues(dev)).env,
    JETSTREAM_KEY: TEST_JETSTREAM_KEY,
  };
  const objects = renderOverlay(overlay);
  const resolved = resolveEnv(
    { ...container(objects), env: container(objects).env?.filter((e) => !e.valueFrom?.fieldRef) },
    secretValues(objects),
    standIns,
  );
  if (resolved.problems.length > 0) throw new Error(resolved.problems.join('; '));
  return { ...resolved.env, SERVER_NAME: 'nats-0' };
}
