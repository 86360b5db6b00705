/** What a replica should do with an event, given the version it last applied for that aggregate. */
export type VersionVerdict = 'apply' | 'duplicate' | 'early';

/**
 * The replica rule (docs/ARCHITECTURE.md): version v applies only on top of v-1; an older or equal version is a
 * duplicate, a gap means an earlier event is still on its way. `applied` is undefined when the aggregate is unknown.
 */
export function versionVerdict(applied: number | undefined, incoming: number): VersionVerdict {
  const expectedPrevious = incoming - 1;
  if (applied === undefined) return incoming === 0 ? 'apply' : 'early';
  if (applied === expectedPrevious) return 'apply';
  return applied >= incoming ? 'duplicate' : 'early';
}
