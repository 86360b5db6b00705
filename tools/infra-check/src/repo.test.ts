import { execFileSync } from 'node:child_process';
import { findTool, ToolNotFoundError } from './repo';

describe('tools the checks run', () => {
  test('kustomize is the pinned 5.8.0 (.ci/install-tools.sh)', () => {
    expect(execFileSync(findTool('kustomize'), ['version'], { encoding: 'utf8' }).trim()).toBe('v5.8.0');
  });

  test('a missing tool is reported with where it was looked for and how to install it', () => {
    const find = () =>
      findTool('kustomize-nowhere', { env: { PATH: '/nonexistent', TICKETING_TOOLS_DIR: '/tools' } });
    expect(find).toThrow(ToolNotFoundError);
    expect(find).toThrow(
      /kustomize-nowhere not found \(looked in \/tools\/bin, .*, PATH\)\. Install it with: bash \.ci\/install-tools\.sh/,
    );
  });

  test('an override variable naming a missing file is an error, not a fallback', () => {
    expect(() =>
      findTool('nats-server', {
        overrideVar: 'NATS_SERVER_BIN',
        env: { NATS_SERVER_BIN: '/nonexistent/nats-server' },
      }),
    ).toThrow('NATS_SERVER_BIN=/nonexistent/nats-server is not an executable file');
  });
});
