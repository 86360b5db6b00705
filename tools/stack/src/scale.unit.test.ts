import { scaleFromEnv } from './scale';

it('runs one of everything unless told otherwise', () => {
  expect(scaleFromEnv({})).toEqual({ replicas: 1, natsNodes: 1 });
  expect(scaleFromEnv({ STACK_REPLICAS: '3', STACK_NATS_NODES: '3' })).toEqual({ replicas: 3, natsNodes: 3 });
});

it.each([
  ['STACK_REPLICAS', '0'],
  ['STACK_REPLICAS', '9'],
  ['STACK_REPLICAS', '2.5'],
  ['STACK_REPLICAS', 'two'],
  ['STACK_NATS_NODES', '2'],
  ['STACK_NATS_NODES', '-3'],
])('refuses %s=%s, naming the variable', (name, value) => {
  expect(() => scaleFromEnv({ [name]: value })).toThrow(
    new RegExp(`^${name} must be .*\\(got "${value}"\\)`),
  );
});
