import { MacroEditConflictError } from './macro.errors';
import { mergeBlocks } from './macro.service';
import { validateMacroSource } from './language/validator';

describe('mergeBlocks (PUT /macro/:name on a file with several blocks)', () => {
  const file = '# header comment\nmacro a {\n    log a1\n}\n\nautomacro a {\n    CurrentHP < 10%\n    call a\n}\n\nmacro b {\n    log b1\n}\n';

  it('replaces the same-named block in place and keeps the others (and comments)', () => {
    const merged = mergeBlocks(file, 'macro a {\n    log a2\n    pause 1\n}', 'f.txt');
    expect(merged).toBe('# header comment\nmacro a {\n    log a2\n    pause 1\n}\n\nautomacro a {\n    CurrentHP < 10%\n    call a\n}\n\nmacro b {\n    log b1\n}\n');
    expect(validateMacroSource(merged).ok).toBe(true);
  });

  it('distinguishes a macro from an automacro of the same name, and appends new blocks', () => {
    const merged = mergeBlocks(file, 'automacro a {\n    CurrentHP < 20%\n    call b\n}\nmacro c {\n    log c\n}\n', 'f.txt');
    expect(merged).toContain('macro a {\n    log a1\n}');
    expect(merged).toContain('automacro a {\n    CurrentHP < 20%\n    call b\n}');
    expect(merged.endsWith('macro b {\n    log b1\n}\n\nmacro c {\n    log c\n}\n')).toBe(true);
  });

  it('refuses to guess block boundaries in a file with a block never closed', () => {
    expect(() => mergeBlocks('macro a {\n    log a\n\nmacro b {\n    log b\n', 'macro b {\n    log b\n}', 'f.txt')).toThrow(MacroEditConflictError);
  });

  it('cuts blocks as eventMacro does: a header inside an open macro is one of its lines', () => {
    // eventMacro's file parser reads "macro b {" inside macro a as a line of a (which stops a when run).
    const merged = mergeBlocks('macro a {\n    log a\nmacro b {\n}\n', 'macro b {\n    log b\n}', 'f.txt');
    expect(merged).toBe('macro a {\n    log a\nmacro b {\n}\n\nmacro b {\n    log b\n}\n');
  });

  it('replaces an automacro with its call block as one block', () => {
    const merged = mergeBlocks('automacro x {\n    BaseLevel > 1\n    call {\n        log old\n    }\n}\n', 'automacro x {\n    BaseLevel > 2\n    call {\n        log new\n    }\n}', 'f.txt');
    expect(merged).toBe('automacro x {\n    BaseLevel > 2\n    call {\n        log new\n    }\n}\n');
  });
});
