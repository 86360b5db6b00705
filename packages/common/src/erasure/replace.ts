/**
 * `value` with every string equal to `from`, as a value or as an object key, replaced by `to`, at any depth.
 * Dates, ObjectIds and other non-plain objects are kept as they are; null when nothing was replaced.
 */
export function replacedEverywhere<T>(value: T, from: string, to: string): T | null {
  let replaced = false;
  const walk = (node: unknown): unknown => {
    if (node === from) {
      replaced = true;
      return to;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const prototype = Object.getPrototypeOf(node);
    if (prototype !== Object.prototype && prototype !== null) return node;
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      if (key === from) replaced = true;
      copy[key === from ? to : key] = walk(child);
    }
    return copy;
  };
  const result = walk(value) as T;
  return replaced ? result : null;
}
