#!/usr/bin/env node
// `npm run stress`: the stress suite (test/stress) under one global bound. Jest runs in its own
// process group; past STRESS_TIMEOUT_MS (default 10 min) the whole group — jest and every engine
// process a scenario started — is killed and the run fails, so nothing can hang CI.
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bound = Number(process.env.STRESS_TIMEOUT_MS ?? 600_000);
const started = Date.now();
const jest = spawn(
  process.execPath,
  [require.resolve('jest/bin/jest'), '-c', path.join(root, 'jest.stress.config.js'), '--runInBand', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', detached: true },
);

let timedOut = false;
const killGroup = (signal) => {
  try {
    process.kill(-jest.pid, signal);
  } catch {
    // already gone
  }
};
const timer = setTimeout(() => {
  timedOut = true;
  process.stderr.write(`\nstress: global bound of ${bound} ms exceeded: killing the run\n`);
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), 5_000).unref();
}, bound);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killGroup(signal);
    setTimeout(() => killGroup('SIGKILL'), 5_000).unref();
  });
}
jest.on('exit', (code, signal) => {
  clearTimeout(timer);
  // Anything a scenario left behind in the group goes with it.
  killGroup('SIGKILL');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`stress: ${timedOut ? 'TIMED OUT' : code === 0 ? 'passed' : 'FAILED'} in ${seconds} s\n`);
  process.exit(timedOut ? 124 : (code ?? (signal ? 1 : 0)));
});
