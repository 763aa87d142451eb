'use strict';
/**
 * Module boundaries (docs/architecture.md "Modules"): a file may import another module of
 * `src/modules/<name>/` only through that module's `index.ts`, and `src/common/` imports no module.
 * Tests (specs, `test/`, `bench/`) may also use a module's `*.test-kit.ts` files; a module's own
 * files, its specs included, import its internals freely.
 *
 * Paths are resolved, not matched as text, so `../x/y` means the same thing at any depth.
 */
const path = require('node:path');

const TEST_FILE = /(\.spec\.ts|\.e2e-spec\.ts|\.test-kit\.ts)$/;

/** `{ root }`: the repository root (src/modules and src/common are under it). */
function boundaries(root) {
  const modulesDir = path.join(root, 'src', 'modules');
  const commonDir = path.join(root, 'src', 'common');
  const inside = (dir, file) => {
    const r = path.relative(dir, file);
    return r !== '' && !r.startsWith('..') && !path.isAbsolute(r);
  };
  const moduleOf = (file) => (inside(modulesDir, file) ? path.relative(modulesDir, file).split(path.sep)[0] : null);
  const isTest = (file) => TEST_FILE.test(file) || inside(path.join(root, 'test'), file) || inside(path.join(root, 'bench'), file);

  /** Why `file` may not import `spec`, or null when it may. */
  function violation(file, spec) {
    if (typeof spec !== 'string' || !spec.startsWith('.')) return null;
    const target = path.resolve(path.dirname(file), spec);
    const to = moduleOf(target);
    if (!to) return null;
    if (inside(commonDir, file)) return `src/common imports no module (found a path into src/modules/${to}); move the code or the port to its owner`;
    if (to === moduleOf(file)) return null;
    const rest = path.relative(path.join(modulesDir, to), target).replace(/\.(ts|js)$/, '');
    if (rest === '' || rest === 'index') return null;
    if (rest.endsWith('.test-kit') && isTest(file)) return null;
    return `import module '${to}' through its index ('${path.relative(path.dirname(file), path.join(modulesDir, to)) || '.'}'), not '${spec}'`;
  }

  return {
    meta: {
      type: 'problem',
      docs: { description: "Imports of another module go through its index.ts; src/common imports no module" },
      schema: [],
      messages: { boundary: '{{why}}' },
    },
    create(context) {
      const file = context.filename;
      const check = (node) => {
        if (!node || node.type !== 'Literal') return;
        const why = violation(file, node.value);
        if (why) context.report({ node, messageId: 'boundary', data: { why } });
      };
      return {
        ImportDeclaration: (n) => check(n.source),
        ExportNamedDeclaration: (n) => check(n.source),
        ExportAllDeclaration: (n) => check(n.source),
        ImportExpression: (n) => check(n.source),
        TSImportType: (n) => check(n.argument && n.argument.type === 'TSLiteralType' ? n.argument.literal : n.argument),
        CallExpression: (n) => {
          if (n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments.length === 1) check(n.arguments[0]);
        },
      };
    },
  };
}

/** The flat-config block eslint.config.mjs uses (and the rule's spec lints with). */
function moduleBoundariesConfig(root) {
  return {
    files: ['**/*.ts'],
    plugins: { boundaries: { rules: { 'module-imports': boundaries(root) } } },
    rules: { 'boundaries/module-imports': 'error' },
  };
}

module.exports = { moduleBoundariesConfig };
