import { yieldToLoop } from '../../../common/async/wait';
import type { Action } from '../../decision';
import { ConditionError, evaluateGroups, scanCondition } from '../language/condition-text';
import { opensCommandBlock } from '../language/file-parser';
import { type BlockSpan, classifyCommand, parseArgs, scanBlocks, scanLabels } from '../language/macro-lines';
import { findVariable, WIDER_VARIABLE } from '../language/variables';
import { type Catalog, findEntry, type MacroEntry } from '../registry/catalog';
import { commandToAction } from './command-actions';
import { abortError, type Execution, RuntimeError } from './execution';
import { Expander, MacroStopError, NeedsBotError } from './expander';

/** What the interpreter needs from the executor. */
export interface InterpreterHost {
  send(exec: Execution, action: Action): Promise<void>;
  sleep(exec: Execution, ms: number): Promise<void>;
}

export interface InterpreterOptions {
  /** Lines one execution may process (a runaway loop ends as failed). */
  maxSteps: number;
  maxCallDepth: number;
  /** Longest pause or macro_delay, seconds. */
  maxPauseSeconds: number;
}

const YIELD_EVERY = 64;

/**
 * Runs a macro line by line as eventMacro's runner does (eventMacro/Runner.pm
 * define_next_valid_command and next): the same tests in the same order, the same jumps for
 * `if`/`elsif`/`else`, `while`, `switch`/`case`, labels and `goto`, postfix `if`, `[`/`]`
 * blocks, `repeat`, and the same errors where eventMacro stops a macro. `do` commands go to the
 * bot through the session's action queue; everything else is evaluated here, against the
 * session's variables and game state, except what only the bot can evaluate (Perl, OpenKore's
 * item lists and config), which fails the execution with NEEDS_BOT — or, inside a `do`, is sent
 * to the bot as written.
 */
export class Interpreter {
  constructor(
    private readonly exec: Execution,
    private readonly catalog: Catalog,
    private readonly expander: Expander,
    private readonly host: InterpreterHost,
    private readonly options: InterpreterOptions,
  ) {}

  async run(entry: MacroEntry): Promise<void> {
    await new Runner(this, entry, 0, 1, 0).run();
  }

  // ---- shared services for the runners

  get execution(): Execution {
    return this.exec;
  }

  get expand(): Expander {
    return this.expander;
  }

  get hostApi(): InterpreterHost {
    return this.host;
  }

  get limits(): InterpreterOptions {
    return this.options;
  }

  macro(name: string): MacroEntry | undefined {
    return findEntry(this.catalog.macros, name);
  }

  automacro(name: string): MacroEntry | undefined {
    return findEntry(this.catalog.automacros, name);
  }

  /** Counts a processed line; a loop of lines with no await would hold the event loop, so yield now and then. */
  async tick(line: number | undefined): Promise<void> {
    const exec = this.exec;
    if (exec.abort.signal.aborted) throw abortError(exec);
    if (++exec.steps > this.options.maxSteps) throw new RuntimeError(`more than ${this.options.maxSteps} lines: stopped as a runaway loop`, line);
    if (exec.steps % YIELD_EVERY === 0) {
      await yieldToLoop();
      if (exec.abort.signal.aborted) throw abortError(exec);
    }
    if (line !== undefined) exec.currentLine = line;
  }
}

/** One macro call (eventMacro makes a runner per call; a `call` makes a sub-runner). */
class Runner {
  private readonly lines: string[];
  private readonly numbers: number[];
  private readonly labels: Map<string, number>;
  private readonly blocks: { startToEnd: Map<number, BlockSpan>; endToStart: Map<number, BlockSpan> };
  private index = 0;
  private current: string | undefined;
  private finished = false;
  private macroBlock = false;

  constructor(
    private readonly it: Interpreter,
    private readonly entry: MacroEntry,
    private readonly depth: number,
    private repeat: number,
    private macroDelayMs: number,
  ) {
    if (entry.block.kind !== 'macro') throw new RuntimeError(`"${entry.name}" is not a macro`);
    this.lines = entry.block.lines.map((l) => l.text);
    this.numbers = entry.block.lines.map((l) => l.line);
    this.labels = scanLabels(this.lines);
    this.blocks = scanBlocks(this.lines);
  }

  private get exec(): Execution {
    return this.it.execution;
  }

  async run(): Promise<void> {
    const outer = this.exec.currentMacro;
    this.exec.currentMacro = this.entry.name;
    try {
      while (!this.finished) {
        const command = await this.nextCommand();
        if (command === undefined) break;
        await this.command(command);
      }
    } catch (err) {
      throw this.located(err);
    } finally {
      this.exec.currentMacro = outer;
    }
  }

  /** Turns an evaluation failure into a RuntimeError at the current line. */
  private located(err: unknown): unknown {
    const line = this.numbers[this.index] ?? this.exec.currentLine ?? undefined;
    if (err instanceof RuntimeError) return err;
    if (err instanceof NeedsBotError) return new RuntimeError(err.message, line, 'NEEDS_BOT');
    if (err instanceof MacroStopError || err instanceof ConditionError) return new RuntimeError(err.message, line);
    return err;
  }

  private fail(message: string): never {
    throw new RuntimeError(message, this.numbers[this.index]);
  }

  // ---- the line loop (define_next_valid_command)

  private defineCurrentLine(): void {
    if (this.index === this.lines.length) {
      if (this.repeat > 1) {
        this.repeat--;
        this.index = 0;
      } else {
        this.finished = true;
        this.current = undefined;
        return;
      }
    }
    this.current = this.lines[this.index] ?? '';
  }

  private condition(text: string | undefined): { result: boolean; after: string } {
    const { groups, after } = scanCondition(text ?? '', (n) => this.isSub(n));
    const result = evaluateGroups(groups, (operand) => this.it.expand.expand(operand), (captures) => {
      captures.forEach((c, i) => this.it.expand.set({ display: `$.lastMatch${i + 1}`, type: 'scalar', name: `.lastMatch${i + 1}` }, c));
    });
    return { result, after };
  }

  private isSub(name: string): boolean {
    return this.it.expand.isSub(name);
  }

  /** Skips lines until the block opened before them closes (counting nested blocks). */
  private skipBlock(unclosed: string): void {
    let open = 1;
    while (open > 0) {
      this.index++;
      this.defineCurrentLine();
      if (this.finished) {
        this.finished = false;
        this.fail(unclosed);
      }
      if (opensCommandBlock(this.current!)) open++;
      else if (this.current === '}') open--;
    }
  }

  /** The next line that is a command, after running the flow control before it; undefined when the macro ends. */
  private async nextCommand(): Promise<string | undefined> {
    let check = true;
    for (;;) {
      if (check) {
        this.defineCurrentLine();
        if (this.finished) return undefined;
      } else check = true;
      await this.it.tick(this.numbers[this.index]);
      const cur = this.current ?? '';

      if (/^while\s*\(/.test(cur)) {
        const { result } = this.condition(/^while\s*(\(.*\))\s+\{$/.exec(cur)?.[1]);
        if (!result) {
          const end = this.blocks.startToEnd.get(this.index)?.end;
          if (end !== undefined) this.index = end;
        }
        this.index++;
      } else if (/^.+\s+if\s*\(.*\)$/.test(cur)) {
        const { result } = this.condition(/^.+\s+if\s*(\(.*\))$/.exec(cur)![1]);
        if (result) {
          this.current = cur.replace(/\s+if\s*\(.*\)$/, '');
          check = false;
          continue;
        }
        this.index++;
      } else if (/^if\s*\(/.test(cur)) {
        const { result, after } = this.condition(cur);
        if (result) {
          if (after !== '{') {
            this.current = after;
            check = false;
            continue;
          }
        } else if (after === '{') {
          let open = 1;
          while (open > 0) {
            this.index++;
            this.defineCurrentLine();
            if (this.finished) {
              this.finished = false;
              this.fail("All 'if' blocks must be closed before the end of the macro)");
            }
            const line = this.current!;
            if (/^(if|switch|case|while|else).*\{$/.test(line)) open++;
            else if (/^}\s*else\s*\{$/.test(line) && open === 1) break;
            else if (line === '}') open--;
            else {
              const elsif = /^}\s*elsif\s*(\(.*\)).*\{$/.exec(line);
              if (elsif && open === 1 && this.condition(elsif[1]).result) break;
            }
          }
        }
        this.index++;
      } else if (/^switch.*\{$/.test(cur)) {
        const head = /^switch\s*(\(.*)\)\s*\{$/.exec(cur)?.[1] ?? '';
        const next = this.switchCase(head);
        if (next === 'command') {
          check = false;
          continue;
        }
      } else if (/^}\s*else\s*\{/.test(cur) || /^}\s*elsif.*\{$/.test(cur)) {
        this.skipBlock("All 'else' and 'elsif' blocks must be closed before the end of the macro)");
        this.index++;
      } else if (/^case/.test(cur) || /^else/.test(cur)) {
        const after = /^(case\s*\(.*\)|else)\s*(.*)/s.exec(cur)?.[2];
        if (after === '{') this.skipBlock("All 'case' and 'else' blocks must be closed before the end of the macro");
        this.index++;
      } else if (cur === '[') {
        this.macroBlock = true;
        this.index++;
      } else if (cur === ']') {
        this.macroBlock = false;
        this.index++;
      } else if (cur === '}') {
        const block = this.blocks.endToStart.get(this.index);
        if (block?.type === 'while') this.index = block.start;
        else this.index++;
      } else if (cur.startsWith(':')) {
        this.index++;
      } else if (/^goto\s/.test(cur)) {
        const label = /^goto\s+([a-zA-Z][a-zA-Z\d_]*)/.exec(cur)?.[1] ?? '';
        const target = this.labels.get(label);
        if (target === undefined) this.fail(`Cannot find label '${label}'`);
        this.index = target;
      } else {
        return cur;
      }
    }
  }

  /** Finds the case (or else) of a switch to run; 'command' when it is a one-line command to run next. */
  private switchCase(head: string): 'block' | 'command' | 'end' {
    for (;;) {
      this.index++;
      this.defineCurrentLine();
      if (this.finished) {
        this.finished = false;
        this.fail("All 'switch' blocks must be closed before the end of the macro)");
      }
      const line = this.current!;
      if (/^else/.test(line)) {
        const after = /^else\s*(.*)/s.exec(line)![1];
        if (after !== '{') {
          this.current = line.replace(/^else\s*/, '');
          return 'command';
        }
        this.index++;
        return 'block';
      }
      if (/^case/.test(line)) {
        const second = /^case\s*\(\s*(.*)/s.exec(line)?.[1];
        if (!second || second === '0') this.fail("All 'case' blocks must have a condition");
        const { result, after } = this.condition(head + second);
        if (!after || after === '0') this.fail("All 'case' blocks must have a macro command or a block after it");
        if (result) {
          if (after !== '{') {
            this.current = line.replace(/^case\s*\(.*\)\s*/, '');
            return 'command';
          }
          this.index++;
          return 'block';
        }
        if (after === '{') this.skipBlock("All 'case' blocks must be closed before the end of the macro");
        if (this.lines[this.index + 1] === '}') return 'end';
        continue;
      }
      this.fail("Only 'else' and 'case' blocks are allowed inside switch blocks");
    }
  }

  // ---- commands (next)

  private async command(text: string): Promise<void> {
    const exec = this.exec;
    const ex = this.it.expand;
    const kind = classifyCommand(text);
    switch (kind.kind) {
      case 'assign':
        this.assign(text);
        this.index++;
        return;
      case 'array-op':
      case 'hash-delete':
        ex.expand(text);
        this.index++;
        return;
      case 'do': {
        const { text: command, unevaluated } = ex.expandVerbatim(kind.command);
        if (/^eventMacro\s+/.test(command)) this.fail("Do not use command 'eventMacro' inside macros");
        if (/^ai\s+clear$/.test(command)) this.fail("do not use 'ai clear' inside macros");
        this.index++;
        if (command === '') return;
        const action = commandToAction(command, `macro ${this.entry.name} v${this.entry.version} line ${exec.currentLine}`);
        if (unevaluated.length > 0) action.params = { ...action.params, unevaluated };
        await this.it.hostApi.send(exec, action);
        await this.delay(this.macroDelayMs);
        return;
      }
      case 'log': {
        const message = ex.expand(kind.text);
        exec.addLog(kind.level === 'log' ? message : `${kind.level}: ${message}`);
        this.index++;
        return;
      }
      case 'pause': {
        const value = ex.expand(kind.value);
        if (!/^\d+(?:\.\d+)?$/.test(value)) this.fail(`pause value '${value}' must be numeric`);
        if (Number(value) > this.it.limits.maxPauseSeconds) this.fail(`pause ${value} is longer than ${this.it.limits.maxPauseSeconds} seconds`);
        this.index++;
        await this.delay(Number(value) * 1000);
        return;
      }
      case 'stop':
        // Ends this macro only: the macro that called it goes on (as in eventMacro).
        this.finished = true;
        return;
      case 'release':
      case 'lock': {
        const target = ex.expand(kind.target);
        if (target !== 'all' && !this.it.automacro(target)) this.fail(`could not find automacro with name '${target}'`);
        // Automacros run in the bot's eventMacro: the engine records the request.
        exec.addLog(`${kind.kind} ${target}`);
        this.index++;
        return;
      }
      case 'call':
        return this.call(kind.text);
      case 'set':
        this.set(kind.parameter, kind.value);
        this.index++;
        return;
      case 'include':
        throw new NeedsBotError('"include", which edits the bot\'s eventMacro file');
      case 'sub-call':
        ex.expand(text);
        this.index++;
        return;
      default:
        this.fail('Unrecognized macro command');
    }
  }

  private async delay(ms: number): Promise<void> {
    // Inside `[ … ]` eventMacro runs the commands in one go, without waiting.
    if (ms > 0 && !this.macroBlock) await this.it.hostApi.sleep(this.exec, ms);
  }

  private async call(text: string): Promise<void> {
    const ex = this.it.expand;
    const command = ex.substitute(text);
    let name = command;
    if (/\s+/.test(command)) {
      const [first, ...params] = parseArgs(command);
      name = first ?? '';
      ex.vars.setArray('.param', params);
    }
    const parsed = ex.expand(name);
    const entry = this.it.macro(parsed);
    if (!entry) this.fail(`could not find macro with name '${parsed}'`);
    if (this.depth + 1 > this.it.limits.maxCallDepth) this.fail(`calls nested deeper than ${this.it.limits.maxCallDepth}`);
    await new Runner(this.it, entry, this.depth + 1, 1, this.macroDelayMs).run();
    this.exec.currentLine = this.numbers[this.index] ?? null;
    this.index++;
    await this.delay(this.macroDelayMs);
  }

  private set(parameter: string | undefined, value: string | undefined): void {
    const v = value ?? '';
    switch (parameter) {
      case 'macro_delay':
        if (!/^[\d.]*\d+$/.test(v)) this.fail(`macro_delay parameter should be a number (decimals are accepted). Given value: '${v}'`);
        if (Number(v) > this.it.limits.maxPauseSeconds) this.fail(`macro_delay ${v} is longer than ${this.it.limits.maxPauseSeconds} seconds`);
        this.macroDelayMs = Number(v) * 1000;
        return;
      case 'repeat':
        if (!/^\d+$/.test(v)) this.fail(`repeat parameter should be a number. Given value: '${v}'`);
        this.repeat = Number(v);
        return;
      case 'overrideAI':
      case 'exclusive':
      case 'self_interruptible':
        if (!/^[01]$/.test(v)) this.fail(`${parameter} parameter should be '0' or '1'. Given value: '${v}'`);
        return;
      case 'orphan':
        if (!/^(terminate|terminate_last_call|reregister|reregister_safe)$/.test(v)) {
          this.fail(`orphan parameter should be 'terminate', 'terminate_last_call', 'reregister' or 'reregister_safe'. Given value: '${v}'`);
        }
        return;
      default:
        this.fail("Unrecognized parameter (supported parameters: 'macro_delay', 'repeat', 'overrideAI', 'exclusive', 'orphan')");
    }
  }

  /** `$x = value`, `$x++`, `$a[1] = …`, `@list = (a, b)`, `%h = (k => v)` (Runner.pm next). */
  private assign(line: string): void {
    const ex = this.it.expand;
    const m = new RegExp(String.raw`^(${WIDER_VARIABLE})\s*([+-]{2}|=\s*.*)`, 's').exec(line);
    if (!m) this.fail('Could not separate variable name from value');
    const [, variable, value] = m;
    if (/^[$@%]\./.test(variable)) this.fail("You can't change the value of read-only variables");
    const ref = ex.accessedVariable(variable)?.ref ?? findVariable(variable);
    if (!ref) this.fail('Could not define variable type');
    const rhs = /^=\s*(.*)/s.exec(value)?.[1];
    if (ref.type === 'scalar' || ref.type === 'accessed_array' || ref.type === 'accessed_hash') {
      if (rhs !== undefined) {
        const v = ex.expand(rhs);
        ex.set(ref, /^\s*(?:undef|unset)\s*$/i.test(v) ? undefined : v);
        return;
      }
      if (/^[+-]{2}$/.test(value)) {
        ex.set(ref, perlAdd(ex.get(ref), value === '++' ? 1 : -1));
        return;
      }
      this.fail('unrecognized assignment');
    }
    if (rhs === undefined) this.fail('unrecognized assignment');
    const vars = ex.vars;
    if (/(?:undef|unset)/.test(rhs)) {
      if (ref.type === 'array') vars.clearArray(ref.name);
      else vars.clearHash(ref.name);
      return;
    }
    const list = /^\((.*)\)$/s.exec(rhs);
    if (list) {
      const members = list[1] === '' ? [] : list[1].split(/\s*,\s*/);
      while (members.length > 0 && members[members.length - 1] === '') members.pop();
      if (ref.type === 'array') return vars.setArray(ref.name, members);
      const entries: Array<[string, string]> = [];
      for (const member of members) {
        const kv = /(.*\S)\s*=>\s*(\S.*)/s.exec(member);
        if (!kv) this.fail('Bad syntax in hash key definition');
        entries.push([kv[1], kv[2]]);
      }
      return vars.setHash(ref.name, entries);
    }
    if (/\w+\s*\(.*\)$/s.test(rhs)) {
      const real = ex.expand(rhs);
      if (real && real !== '0' && ref.type === 'array') return vars.setArray(ref.name, real.split(','));
      this.fail(`Unable to set array or hash, empty value! (value: '${real}')`);
    }
  }
}

/** Perl's `$old + 1` on a variable's text (unset reads as 0). */
function perlAdd(old: string | undefined, delta: number): string {
  const m = /^\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))/.exec(old ?? '0');
  const n = (m ? Number(m[1]) : 0) + delta;
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(15)));
}

