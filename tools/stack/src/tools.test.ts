import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import { NatsServerNotFoundError } from '@ticketing/testing';
import { PrefixedLog } from './log';
import {
  isExecutable,
  runInstallScript,
  type StackTool,
  ToolBuildError,
  ToolResolver,
  toolsBinDir,
} from './tools';

/** A log whose lines the test can read. */
function capturedLog(): { log: PrefixedLog; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: new PrefixedLog('tools', out), lines };
}

/** PATH without any directory that holds one of `names` (the tools cache among them). */
function pathWithout(...names: string[]): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !names.some((name) => isExecutable(join(dir, name))))
    .join(delimiter);
}

const saved = { ...process.env };
let tools: string;

beforeEach(() => {
  // An empty tools cache, and no tool where the machine has them: what a fresh machine has.
  tools = mkdtempSync(join(tmpdir(), 'stack-tools-'));
  process.env.TICKETING_TOOLS_DIR = tools;
  process.env.PATH = pathWithout('nats-server', 'stripe-mock', 'ferretdb', 'nats', 'jaeger');
  delete process.env.NATS_SERVER_BIN;
});

afterEach(() => {
  process.env = { ...saved };
  rmSync(tools, { recursive: true, force: true });
});

describe('the stack builds what it cannot find, with the recipe CI uses (.ci/install-tools.sh)', () => {
  // A real Go build: seconds with Go's build cache warm, a minute or more on a cold one (FerretDB or the nats CLI
  // take several), so one tool is enough to show the recipe runs from the stack into an empty tools cache; the
  // others go through the same function.
  test('with an empty tools dir, stripe-mock is built into it, its version pinned; the next start finds it cached', async () => {
    expect(toolsBinDir()).toBe(join(tools, 'bin'));
    const { log, lines } = capturedLog();
    const binary = await new ToolResolver({ log }).resolve('stripe-mock');
    expect(binary).toBe(join(tools, 'bin', 'stripe-mock'));
    expect(isExecutable(binary)).toBe(true);
    expect(execFileSync('go', ['version', '-m', binary], { encoding: 'utf8' })).toMatch(
      /\bmod\s+github\.com\/stripe\/stripe-mock\s+v0\.197\.0\b/,
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          '[install-tools] stripe-mock: go install github.com/stripe/stripe-mock@v0.197.0',
        ),
        expect.stringMatching(/\[install-tools\] stripe-mock: built in \d+s/),
      ]),
    );

    const again = capturedLog();
    expect(await new ToolResolver({ log: again.log }).resolve('stripe-mock')).toBe(binary);
    expect(again.lines).toEqual(
      expect.arrayContaining([expect.stringContaining('[install-tools] stripe-mock v0.197.0: cached')]),
    );
    expect(again.lines.join('\n')).not.toContain('go install');
  }, 600_000);

  describe('nats-server, whose pinned release is downloaded first', () => {
    let releases: Server;

    beforeEach(async () => {
      // Where releases would come from, answering 404 like a machine without internet gets nothing.
      releases = createServer((_req, res) => res.writeHead(404).end('no internet here'));
      await new Promise<void>((resolve) => releases.listen(0, '127.0.0.1', () => resolve()));
      process.env.NATS_SERVER_DOWNLOAD_URL = `http://127.0.0.1:${(releases.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      await new Promise<void>((resolve) => releases.close(() => resolve()));
    });

    test('not on PATH and the download failing: it is built (the recipe asked for nats-server)', async () => {
      const asked: StackTool[][] = [];
      const { log, lines } = capturedLog();
      const resolver = new ToolResolver({
        log,
        // Stands in for the recipe (test above) and leaves what it would: an executable in the tools cache.
        install: async (names) => {
          asked.push(names);
          mkdirSync(join(tools, 'bin'), { recursive: true });
          writeFileSync(join(tools, 'bin', 'nats-server'), '#!/bin/sh\n');
          chmodSync(join(tools, 'bin', 'nats-server'), 0o755);
        },
      });
      expect(await resolver.resolve('nats-server')).toBe(join(tools, 'bin', 'nats-server'));
      expect(asked).toEqual([['nats-server']]);
      expect(lines.join('\n')).toMatch(
        /nats-server: not installed and the download failed \(.*404.*\); building it/,
      );
    });

    test('NATS_SERVER_BIN naming no executable is an error to fix, not a reason to build', async () => {
      process.env.NATS_SERVER_BIN = join(tools, 'missing-nats-server');
      const asked: StackTool[][] = [];
      const resolver = new ToolResolver({
        log: capturedLog().log,
        install: async (names) => void asked.push(names),
      });
      await expect(resolver.resolve('nats-server')).rejects.toThrow(NatsServerNotFoundError);
      expect(asked).toEqual([]);
    });
  });

  test('one build at a time, each tool once per process; a recipe that leaves no binary is an error', async () => {
    let running = 0;
    let most = 0;
    const asked: string[] = [];
    const resolver = new ToolResolver({
      log: capturedLog().log,
      install: async ([name]) => {
        asked.push(name!);
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 50));
        running--;
        if (name === 'ferretdb') return; // "succeeds" without a binary
        mkdirSync(join(tools, 'bin'), { recursive: true });
        writeFileSync(join(tools, 'bin', name!), '#!/bin/sh\n');
        chmodSync(join(tools, 'bin', name!), 0o755);
      },
    });
    const [cli, mock, ferret] = await Promise.allSettled([
      resolver.resolve('nats'),
      resolver.resolve('stripe-mock'),
      resolver.resolve('ferretdb'),
      resolver.resolve('nats'),
    ]);
    expect(most).toBe(1);
    expect(asked).toEqual(['nats', 'stripe-mock', 'ferretdb']);
    expect(cli).toEqual({ status: 'fulfilled', value: join(tools, 'bin', 'nats') });
    expect(mock).toEqual({ status: 'fulfilled', value: join(tools, 'bin', 'stripe-mock') });
    expect(ferret).toMatchObject({ status: 'rejected', reason: expect.any(ToolBuildError) });
  });

  test('a tool the user installed on PATH is used as it is', async () => {
    const own = mkdtempSync(join(tmpdir(), 'stack-own-'));
    try {
      writeFileSync(join(own, 'stripe-mock'), '#!/bin/sh\n');
      chmodSync(join(own, 'stripe-mock'), 0o755);
      process.env.PATH = `${own}${delimiter}${process.env.PATH}`;
      const resolver = new ToolResolver({
        log: capturedLog().log,
        install: () => Promise.reject(new Error('no')),
      });
      expect(await resolver.resolve('stripe-mock')).toBe(join(own, 'stripe-mock'));
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test('an optional tool that cannot be had is undefined, with a line saying why', async () => {
    const { log, lines } = capturedLog();
    const resolver = new ToolResolver({
      log,
      install: () => Promise.reject(new ToolBuildError('nats', 'the module proxy refused it')),
    });
    expect(await resolver.optional('nats', 'the nats CLI is optional')).toBeUndefined();
    expect(lines).toEqual([
      expect.stringContaining(
        'nats is not available (the nats CLI is optional): the module proxy refused it',
      ),
    ]);
  });

  test('a tool used only when present (Jaeger) is found in the tools cache or on PATH, and never built', async () => {
    const asked: string[] = [];
    const resolver = new ToolResolver({
      log: capturedLog().log,
      install: async (names) => {
        asked.push(...names);
      },
    });
    expect(resolver.present('jaeger')).toBeUndefined();
    mkdirSync(join(tools, 'bin'), { recursive: true });
    writeFileSync(join(tools, 'bin', 'jaeger'), '#!/bin/sh\n');
    expect(resolver.present('jaeger')).toBeUndefined(); // not executable
    chmodSync(join(tools, 'bin', 'jaeger'), 0o755);
    expect(resolver.present('jaeger')).toBe(join(tools, 'bin', 'jaeger'));
    expect(asked).toEqual([]);
  });

  test('the recipe itself: without Go a missing tool fails with a clear message; an unknown tool is refused', async () => {
    const { log, lines } = capturedLog();
    process.env.PATH = '/usr/bin:/bin';
    await expect(runInstallScript(['stripe-mock'], log)).rejects.toThrow(ToolBuildError);
    expect(lines.join('\n')).toContain('stripe-mock: cannot build it: go is not installed');
    process.env.PATH = saved.PATH;
    await expect(runInstallScript(['bogus' as StackTool], capturedLog().log)).rejects.toThrow(
      /install-tools\.sh bogus failed \(exit 2\):\n.*unknown tool bogus/,
    );
  });
});
