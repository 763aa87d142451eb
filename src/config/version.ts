import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package version, found by walking up from this file (src/ in tests, dist/src/ when built). */
function readVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'openkore-ai-engine' && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

export const SERVER_NAME = 'openkore-ai-engine';
export const SERVER_VERSION = readVersion();
