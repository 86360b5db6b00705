// Evaluates Kubernetes NetworkPolicies the way the API defines them, for the questions the checks ask:
// "may pod A open a connection to pod (or address) B on port P?". A connection needs both the egress side
// (policies selecting A) and the ingress side (policies selecting B) to allow it; a side with no policy
// selecting its pod allows everything. Only pods of the policies' namespace are governed by them.

/** A place a connection starts from or goes to. */
export interface Endpoint {
  /** Shown in reports. */
  name: string;
  namespace: string;
  /** Labels of the namespace (kubernetes.io/metadata.name is added). */
  namespaceLabels?: Record<string, string>;
  /** Pod labels; undefined for an address outside the cluster. */
  labels?: Record<string, string>;
  /** IPv4 address. */
  ip: string;
  /** Named container ports, for policies that name ports. */
  ports?: Record<string, number>;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }>;
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Array<{ port?: number | string; endPort?: number; protocol?: string }>;
}

/** A NetworkPolicy as rendered. */
export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: Array<'Ingress' | 'Egress'>;
    ingress?: Rule[];
    egress?: Rule[];
  };
}

/** A label selector's verdict; `{}` selects everything. */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const value = labels[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        throw new Error(`unknown selector operator ${String(expression.operator)}`);
    }
  }
  return true;
}

function ipToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return parts.reduce((n, p) => n * 256 + p, 0);
}

/** True when `ip` is inside the IPv4 `cidr`. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = Number(bits ?? 32);
  const block = 2 ** (32 - size);
  return Math.floor(ipToNumber(ip) / block) === Math.floor(ipToNumber(base!) / block);
}

function namespaceLabels(endpoint: Endpoint): Record<string, string> {
  return { ...endpoint.namespaceLabels, 'kubernetes.io/metadata.name': endpoint.namespace };
}

function peerMatches(peer: Peer, policyNamespace: string, endpoint: Endpoint): boolean {
  if (peer.ipBlock) {
    // ipBlock is meant for addresses outside the cluster; pod addresses are private here, as in most clusters.
    return (
      inCidr(endpoint.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((cidr) => inCidr(endpoint.ip, cidr))
    );
  }
  if (!endpoint.labels) return false;
  const namespaceOk = peer.namespaceSelector
    ? matchesSelector(peer.namespaceSelector, namespaceLabels(endpoint))
    : endpoint.namespace === policyNamespace;
  const podOk = peer.podSelector ? matchesSelector(peer.podSelector, endpoint.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(rule: Rule, destination: Endpoint, port: number, protocol: string): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'number' ? p.port : destination.ports?.[p.port];
    if (number === undefined) return false;
    return p.endPort !== undefined ? port >= number && port <= p.endPort : port === number;
  });
}

function policyTypes(policy: NetworkPolicy): Array<'Ingress' | 'Egress'> {
  if (policy.spec.policyTypes) return policy.spec.policyTypes;
  return policy.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

function sideAllows(
  policies: NetworkPolicy[],
  direction: 'Ingress' | 'Egress',
  subject: Endpoint,
  peer: Endpoint,
  destination: Endpoint,
  port: number,
  protocol: string,
): boolean {
  if (!subject.labels) return true; // outside the cluster: no policy applies
  const selecting = policies.filter(
    (p) =>
      (p.metadata.namespace ?? subject.namespace) === subject.namespace &&
      policyTypes(p).includes(direction) &&
      matchesSelector(p.spec.podSelector, subject.labels!),
  );
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (direction === 'Ingress' ? policy.spec.ingress : policy.spec.egress)?.some((rule) => {
      const peers = direction === 'Ingress' ? rule.from : rule.to;
      const peerOk =
        !peers || peers.length === 0 || peers.some((p) => peerMatches(p, subject.namespace, peer));
      return peerOk && portMatches(rule, destination, port, protocol);
    }),
  );
}

/** May `source` open a connection to `destination` on `port`/`protocol`? */
export function allowed(
  policies: NetworkPolicy[],
  source: Endpoint,
  destination: Endpoint,
  port: number,
  protocol = 'TCP',
): boolean {
  return (
    sideAllows(policies, 'Egress', source, destination, destination, port, protocol) &&
    sideAllows(policies, 'Ingress', destination, source, destination, port, protocol)
  );
}
