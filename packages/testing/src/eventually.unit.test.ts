import { eventually } from './eventually';

describe('eventually', () => {
  it('retries until the assertion passes and returns its value', async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls++;
        if (calls < 3) throw new Error(`not yet (${calls})`);
        return 'done';
      },
      { intervalMs: 5 },
    );
    expect(value).toBe('done');
    expect(calls).toBe(3);
  });

  it('awaits async assertions', async () => {
    let calls = 0;
    await expect(
      eventually(
        async () => {
          calls++;
          if (calls < 2) throw new Error('later');
          return calls;
        },
        { intervalMs: 1 },
      ),
    ).resolves.toBe(2);
  });

  it('rethrows the last error once the time is up', async () => {
    let calls = 0;
    const started = Date.now();
    const err = await eventually(
      () => {
        calls++;
        throw new Error(`attempt ${calls}`);
      },
      { timeoutMs: 200, intervalMs: 20 },
    ).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect((err as Error).message).toBe(`attempt ${calls}`);
    expect(calls).toBeGreaterThan(3);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1_000);
  });
});
