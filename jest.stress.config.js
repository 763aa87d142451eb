// The stress suite (`npm run stress`, test/stress): its own jest config, so `npm test` never picks it up
// (that one matches *.spec.ts under src/ and *.e2e-spec.ts under test/, not *.stress-spec.ts).
// Same transform as the main config; one scenario at a time, each with its own bound.
const main = require('./jest.config.js');

const e2e = main.projects.find((p) => p.displayName === 'e2e');

module.exports = {
  ...e2e,
  displayName: 'stress',
  rootDir: __dirname,
  roots: ['<rootDir>/test/stress'],
  testMatch: ['**/*.stress-spec.ts'],
  // A scenario's own waits are bounded far below this; the runner (scripts/stress.js) bounds the whole run.
  testTimeout: 150_000,
};
