import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const { moduleBoundariesConfig } = require('./module-boundaries.cjs') as { moduleBoundariesConfig(root: string): object };

const ROOT = path.resolve(__dirname, '..');
const RULE = 'boundaries/module-imports';

/** The rule's block, exactly as eslint.config.mjs uses it, on a TypeScript parser (no type information needed). */
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as never } }, moduleBoundariesConfig(ROOT) as never],
});

/** The boundary messages for `code` as if it were the file at `file` (relative to the repository root). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  expect(result.messages.filter((m) => m.ruleId !== RULE && m.fatal)).toEqual([]);
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('module boundaries lint rule', () => {
  it.each([
    ['a module file into another module’s file', 'src/modules/decision/decision.service.ts', "import { SessionService } from '../session/session.service';"],
    ['a nested module file into another module’s file', 'src/modules/decision/tiers/rules.ts', "import type { GameState } from '../../state/game-state';"],
    ['a re-export of another module’s file', 'src/modules/pdca/index.ts', "export { StateService } from '../state/state.service';"],
    ['a dynamic import', 'src/modules/macro/macro.service.ts', "export const load = () => import('../decision/action');"],
    ['a require', 'src/modules/ml/ml.module.ts', "const x = require('../flags/flag.service'); export default x;"],
    ['an import type', 'src/modules/ml/features.ts', "export type S = import('../state/game-state').GameState;"],
    ['app code into a test kit', 'src/modules/pdca/pdca.service.ts', "import { makeSession } from '../memory/memory.test-kit';"],
    ['a module spec into another module’s file', 'src/modules/state/state.service.spec.ts', "import { SessionService } from '../session/session.service';"],
    ['an e2e suite into a module’s file', 'test/x.e2e-spec.ts', "import { SessionService } from '../src/modules/session/session.service';"],
    ['a bench into a module’s file', 'bench/x.bench.ts', "import { percentile } from '../src/modules/metrics/series-stats';"],
    ['the app module into a module’s file', 'src/app.module.ts', "import { MlModule } from './modules/ml/ml.module';"],
  ])('refuses %s', async (_what, file, code) => {
    const errors = await boundaryErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/through its index/);
  });

  it.each([
    ['src/common/http/x.ts', "import { SessionService } from '../../modules/session';"],
    ['src/common/ports/x.port.ts', "import type { GameState } from '../../modules/state/game-state';"],
  ])('refuses src/common importing a module (%s)', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([expect.stringMatching(/src\/common imports no module/)]);
  });

  it.each([
    ['a module through its index', 'src/modules/decision/decision.service.ts', "import { SessionService } from '../session';"],
    ['a module through index by name', 'src/modules/decision/tiers/rules.ts', "import type { GameState } from '../../state/index';"],
    ['its own internals', 'src/modules/decision/tiers/rules.ts', "import { ActionType } from '../action';"],
    ['its own internals from a spec', 'src/modules/state/state.service.spec.ts', "import { StateService } from './state.service';"],
    ['common code', 'src/modules/state/state.service.ts', "import { LockManager } from '../../common/concurrency';"],
    ['a package', 'src/common/http/x.ts', "import { Injectable } from '@nestjs/common';"],
    ['a test kit from an e2e suite', 'test/x.e2e-spec.ts', "import { writeModel } from '../src/modules/ml/ml.test-kit';"],
    ['a test kit from another test kit', 'src/modules/pdca/pdca.test-kit.ts', "import { kit } from '../memory/memory.test-kit';"],
    ['the app module through indexes', 'src/app.module.ts', "import { MlModule } from './modules/ml';"],
  ])('allows %s', async (_what, file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });

  it('is on, as an error, for the code and the tests in the real configuration', () => {
    // In a child process: eslint.config.mjs is an ES module, which Jest's CommonJS runtime cannot load.
    const script = `
      const { ESLint } = require('eslint');
      const eslint = new ESLint({ cwd: ${JSON.stringify(ROOT)} });
      Promise.all(process.argv.slice(1).map((f) => eslint.calculateConfigForFile(f)))
        .then((cs) => console.log(JSON.stringify(cs.map((c) => c.rules[${JSON.stringify(RULE)}]))));`;
    const files = ['src/modules/decision/decision.service.ts', 'src/common/http/request-pipeline.ts', 'test/ml.e2e-spec.ts', 'src/app.module.ts'];
    const out = execFileSync(process.execPath, ['-e', script, ...files], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(files.map(() => [2]));
  });
});
