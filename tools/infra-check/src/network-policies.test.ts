import { mongoName, publicRoutes, serviceNames, webName } from './contract';
import { containersOf, ofKind, renderOverlay, workloads } from './manifests';
import { allowed, type Endpoint, inCidr, matchesSelector, type NetworkPolicy } from './network-policy';

const namespace = 'ticketing';

/** Pods of the prod overlay, plus the neighbours a real cluster has. */
function endpoints() {
  const objects = renderOverlay('prod');
  const pods: Endpoint[] = workloads(objects).map((workload, i) => ({
    name: workload.metadata.name,
    namespace,
    labels: workload.spec.template.metadata?.labels ?? {},
    ip: `10.0.0.${i + 10}`,
    ports: Object.fromEntries(
      containersOf(workload).flatMap((c) =>
        (c.ports ?? []).map((p) => [p.name ?? String(p.containerPort), p.containerPort]),
      ),
    ),
  }));
  const portsOf = (pod: Endpoint) =>
    Object.values(pod.ports ?? {}).map((port) => ({ port, protocol: 'TCP' }));
  const ingressController: Endpoint = {
    name: 'ingress-nginx',
    namespace: 'ingress-nginx',
    labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
    ip: '10.1.0.5',
  };
  const dns: Endpoint = {
    name: 'kube-dns',
    namespace: 'kube-system',
    labels: { 'k8s-app': 'kube-dns' },
    ip: '10.2.0.10',
  };
  const internet: Endpoint = { name: 'internet', namespace: '', ip: '54.187.174.169' };
  // kube-prometheus-stack's Prometheus (infra/observability/network-policies.yaml), and its neighbour Grafana.
  const prometheus: Endpoint = {
    name: 'prometheus',
    namespace: 'monitoring',
    labels: { 'app.kubernetes.io/name': 'prometheus' },
    ip: '10.4.0.7',
  };
  // Pods that must reach nothing and be reached by nothing: another app in our namespace, anything elsewhere.
  const intruder: Endpoint = {
    name: 'intruder',
    namespace,
    labels: { app: 'intruder' },
    ip: '10.0.1.1',
    ports: { http: 8080 },
  };
  const strangers: Endpoint[] = [
    { name: 'other-namespace', namespace: 'other', labels: { app: 'other' }, ip: '10.3.0.1' },
    {
      name: 'grafana',
      namespace: 'monitoring',
      labels: { 'app.kubernetes.io/name': 'grafana' },
      ip: '10.4.0.8',
    },
    {
      name: 'ingress-nginx-other-pod',
      namespace: 'ingress-nginx',
      labels: { app: 'webhook' },
      ip: '10.1.0.6',
    },
  ];
  const sources = [...pods, intruder, ingressController, prometheus, ...strangers, internet];
  const destinations: Array<[Endpoint, Array<{ port: number; protocol: string }>]> = [
    ...[...pods, intruder].map(
      (pod) => [pod, portsOf(pod)] as [Endpoint, Array<{ port: number; protocol: string }>],
    ),
    [
      dns,
      [
        { port: 53, protocol: 'UDP' },
        { port: 53, protocol: 'TCP' },
      ],
    ],
    [
      internet,
      [
        { port: 443, protocol: 'TCP' },
        { port: 80, protocol: 'TCP' },
      ],
    ],
  ];
  const policies = ofKind<NetworkPolicy>(objects, 'NetworkPolicy') as unknown as NetworkPolicy[];
  return { pods, sources, destinations, policies };
}

/** Every allowed connection that involves a pod of the namespace, as "source → destination:port/protocol". */
function allowedPaths(policies: NetworkPolicy[]): string[] {
  const { sources, destinations } = endpoints();
  const paths: string[] = [];
  for (const source of sources) {
    for (const [destination, ports] of destinations) {
      if (source.namespace !== namespace && destination.namespace !== namespace) continue;
      for (const { port, protocol } of ports) {
        if (allowed(policies, source, destination, port, protocol)) {
          paths.push(`${source.name} → ${destination.name}:${port}/${protocol}`);
        }
      }
    }
  }
  return paths.sort();
}

/** The paths the system uses (infra/k8s/overlays/prod/network-policies.yaml says why). */
function expectedPaths(): string[] {
  const { pods } = endpoints();
  const paths: string[] = [];
  for (const service of serviceNames) {
    if (publicRoutes[service]) paths.push(`ingress-nginx → ${service}:3000/TCP`);
    paths.push(`${service} → ${mongoName(service)}:27017/TCP`, `${service} → nats:4222/TCP`);
    paths.push(`prometheus → ${service}:3000/TCP`);
  }
  paths.push('prometheus → nats:7979/TCP');
  paths.push(`ingress-nginx → ${webName}:3000/TCP`);
  // Stripe's API, and webhook receivers.
  paths.push('nats → nats:6222/TCP', 'payments → internet:443/TCP', 'notifications → internet:443/TCP');
  for (const pod of [...pods.map((p) => p.name), 'intruder'])
    paths.push(`${pod} → kube-dns:53/UDP`, `${pod} → kube-dns:53/TCP`);
  return paths.sort();
}

describe('NetworkPolicies of overlay prod', () => {
  test('allow exactly the paths the system uses: ingress → HTTP services and the shop, each service → its Mongo and NATS, NATS ↔ NATS, payments → Stripe, notifications → webhook receivers, DNS, Prometheus → /metrics and the NATS exporters', () => {
    expect(allowedPaths(endpoints().policies)).toEqual(expectedPaths());
  });

  test('without the default deny, the check reports the paths that open up', () => {
    const policies = endpoints().policies.filter((p) => p.metadata.name !== 'default-deny');
    const extra = allowedPaths(policies).filter((path) => !expectedPaths().includes(path));
    expect(extra).toContain('other-namespace → intruder:8080/TCP');
  });

  test('a service pointed at another service’s Mongo is refused', () => {
    const { pods, policies } = endpoints();
    const pod = (name: string) => pods.find((p) => p.name === name)!;
    expect(allowed(policies, pod('tickets'), pod('orders-mongo'), 27017)).toBe(false);
    expect(allowed(policies, pod('orders'), pod('orders-mongo'), 27017)).toBe(true);
  });
});

describe('the NetworkPolicy evaluator', () => {
  test('label selectors: matchLabels and every matchExpressions operator', () => {
    const labels = { a: '1', b: '2' };
    expect(matchesSelector({}, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { a: '1' } }, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { a: '2' } }, labels)).toBe(false);
    expect(
      matchesSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '3'] }] }, labels),
    ).toBe(true);
    expect(
      matchesSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels),
    ).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }, labels)).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, labels)).toBe(
      true,
    );
  });

  test('CIDR blocks', () => {
    expect(inCidr('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(inCidr('11.1.2.3', '10.0.0.0/8')).toBe(false);
    expect(inCidr('172.20.0.1', '172.16.0.0/12')).toBe(true);
    expect(inCidr('1.2.3.4', '0.0.0.0/0')).toBe(true);
  });
});
