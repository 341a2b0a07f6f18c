/** Jest runs the TypeScript tests with ts-jest against the built native addon. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // The app imports the package by name, as a user's app would; here it is this repository.
  moduleNameMapper: {
    '^agent-circuit-breaker$': '<rootDir>/lib/resilience/index.ts',
    '^agent-circuit-breaker/fleet$': '<rootDir>/lib/resilience/fleet.ts',
    '^agent-circuit-breaker/prometheus$': '<rootDir>/lib/resilience/prometheus.ts',
    '^agent-circuit-breaker/otel$': '<rootDir>/lib/resilience/otel.ts',
  },
  testMatch: ['**/*.test.ts'],
};
