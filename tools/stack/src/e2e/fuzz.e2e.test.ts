import { spawn } from 'node:child_process';
import { findTool } from '../paths';
import { ApiClient, startTestStack, type TestStack } from './support';

// Fuzzing every operation of the merged OpenAPI document with schemathesis (from PyPI; .ci/install-tools.sh
// installs it). The services run with API_VALIDATE_RESPONSES, so an answer that breaks the document is a 500
// too: these runs fail on any server error or any answer whose status, content type or body is not documented.
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
];

let test: TestStack;

beforeAll(async () => {
  test = await startTestStack({
    API_VALIDATE_RESPONSES: 'true',
    // The fuzzer signs up and signs in thousands of times from one address.
    AUTH_RATE_LIMIT_PER_IP: '1000000',
    AUTH_RATE_LIMIT_FAILED_SIGNINS_PER_EMAIL_AND_IP: '1000000',
  });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

function schemathesis(): string {
  const binary = process.env.SCHEMATHESIS_BIN ?? findTool('schemathesis');
  if (!binary)
    throw new Error(
      'schemathesis not found: run bash .ci/install-tools.sh (pip install schemathesis==4.32.5)',
    );
  return binary;
}

async function fuzz(
  label: string,
  headers: string[],
  extra: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const base = test.stack.url;
  const args = [
    'run',
    `${base}/api/openapi.json`,
    '--url',
    base,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    '25',
    '--workers',
    '2',
    '--seed',
    '20261122',
    // Above the longest wait an operation documents (GET /api/orders/:id?waitFor=…&timeout=30).
    '--request-timeout',
    '35',
    ...headers.flatMap((header) => ['-H', header]),
    ...extra,
  ];
  const child = spawn(schemathesis(), args, {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  // From the first report of what went wrong (schemathesis lists errors and failures before its summary).
  const problems = output.search(/={5,} (ERRORS|FAILURES) ={5,}/);
  const summary = output.slice(Math.max(0, problems >= 0 ? problems : output.indexOf('SUMMARY') - 40));
  process.stdout.write(`\n── schemathesis, ${label} ──\n${summary}\n`);
  return { code, output };
}

it('finds no server error and no answer outside the document, signed out', async () => {
  const run = await fuzz('signed out', []);
  expect(run.output).toMatch(/Operations:\s+\d+ selected/);
  expect(run.output).not.toMatch(/\b[1-9]\d* failed\b/);
  expect(run.code).toBe(0);
}, 600_000);

it('finds no server error and no answer outside the document, signed in', async () => {
  const user = await new ApiClient(test.stack.url).signup();
  const token = (
    await user.request<{ token: string }>('POST', '/api/users/signin', {
      email: user.email,
      password: 'correct horse battery',
    })
  ).body.token;
  // Not deleteAccount: once it erased the fuzzer's account, every other operation would only answer 401.
  const run = await fuzz(
    'signed in',
    [`Authorization: Bearer ${token}`],
    ['--exclude-operation-id', 'deleteAccount'],
  );
  expect(run.output).toMatch(/test cases:\s+\d+ generated, \d+ passed/i);
  expect(run.code).toBe(0);
}, 600_000);
