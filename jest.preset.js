// Shared jest settings: @swc/jest strips types only (tsc --noEmit does the checking in `typecheck`).
// Tests start real servers, so each file gets generous time and files run one at a time per package.
const path = require('node:path');

module.exports = {
  reporters: ['default', path.join(__dirname, 'scripts', 'jest-results-reporter.js')],
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testTimeout: 60_000,
  maxWorkers: 1,
};
