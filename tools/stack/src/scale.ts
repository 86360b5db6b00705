/** How many of each process the stack runs: `STACK_REPLICAS` per service, `STACK_NATS_NODES` nats-servers. */
export interface StackScale {
  /** Processes per service (the gateway balances across them; they share durable consumers and databases). */
  replicas: number;
  /** nats-servers: 1, or a cluster of 3 or 5 on loopback whose streams have as many replicas. */
  natsNodes: number;
}

/** The largest `STACK_REPLICAS`: each replica is a Node process of its own on this one machine. */
export const maxReplicas = 8;

function wholeNumber(name: string, value: string | undefined, allowed: (n: number) => boolean, rule: string) {
  if (value === undefined || value.trim() === '') return 1;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !allowed(n)) throw new Error(`${name} must be ${rule} (got "${value}")`);
  return n;
}

/** Reads `STACK_REPLICAS` and `STACK_NATS_NODES` (default 1 each); a bad value throws naming the variable. */
export function scaleFromEnv(env: NodeJS.ProcessEnv = process.env): StackScale {
  return {
    replicas: wholeNumber(
      'STACK_REPLICAS',
      env.STACK_REPLICAS,
      (n) => n >= 1 && n <= maxReplicas,
      `a whole number from 1 to ${maxReplicas}`,
    ),
    // A JetStream cluster needs a majority to elect leaders: an odd size, at most a stream's 5 replicas.
    natsNodes: wholeNumber(
      'STACK_NATS_NODES',
      env.STACK_NATS_NODES,
      (n) => [1, 3, 5].includes(n),
      '1, 3 or 5',
    ),
  };
}
