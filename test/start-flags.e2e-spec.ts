/**
 * The Node flags the start scripts run the engine with (young-generation sizing, README
 * "Development") are the ones the bench measures, and this Node accepts them: an unknown or
 * misspelt V8 flag would make `npm start` refuse to run at all.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENGINE_NODE_FLAGS } from '../bench/support';

const ROOT = path.resolve(__dirname, '..');
const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

function nodeFlags(script: string): string[] {
  const words = script.split(/\s+/);
  expect(words[0]).toBe('node');
  expect(words[words.length - 1]).toBe('dist/src/main.js');
  return words.slice(1, -1);
}

describe('start scripts', () => {
  it('start and start:prod run the engine with the same flags, and the bench with them too', () => {
    const start = nodeFlags(scripts.start);
    expect(nodeFlags(scripts['start:prod'])).toEqual(start);
    expect(start).toEqual(expect.arrayContaining(['--max-semi-space-size=64', '--min-semi-space-size=16', '--no-memory-reducer']));
    // BENCH_ENGINE_FLAGS (unset in the tests) only appends.
    expect(ENGINE_NODE_FLAGS.slice(0, start.length)).toEqual(start);
  });

  it('this Node accepts every flag', () => {
    const flags = nodeFlags(scripts.start);
    // V8 flags that Node does not know end the process with "bad option" before any code runs.
    expect(execFileSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")']).toString()).toBe('ok');
    // And a misspelt one would be caught: the check itself can fail.
    expect(() => execFileSync(process.execPath, ['--min-semi-space-sise=16', '-e', '0'], { stdio: 'pipe' })).toThrow();
  });
});
