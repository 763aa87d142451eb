import type { MetricsPort } from '../../common/ports/metrics-sources.port';
import type { DecisionService } from '../decision';
import type { FlagLease, FlagService } from '../flags';
import { type MacroService, renderMacroTemplate } from '../macro';
import type { SessionService } from '../session';
import type { StateSnapshot, StateService } from '../state';
import type { LeasePort, PdcaPorts, PlanningInputPort } from './pdca.ports';
import type { PlanningState } from './pdca.types';

function planningState(snap: StateSnapshot, character: string | null): PlanningState {
  return { session_id: snap.sessionId, character: character ?? snap.state.character.name, updated_at: snap.updatedAt, state: snap.state };
}

/** The `pdca_running` lease through FlagService. */
export function leasesFrom(flags: FlagService): LeasePort {
  return {
    ownerId: flags.ownerId,
    tryAcquire: (flag, ttlMs, options) => flags.tryAcquire(flag, ttlMs, { onLost: options.onLost }),
    release: (lease) => flags.release(lease as FlagLease),
    get: (flag) => flags.get(flag),
  };
}

/** The adapters of pdca.ports.ts over the other modules' exported services. */
export function createPorts(
  flags: FlagService,
  macros: MacroService,
  sessions: SessionService,
  state: StateService,
  decisions: DecisionService,
  metrics: MetricsPort | null,
): PdcaPorts {
  const input: PlanningInputPort = {
    recentStates(limit) {
      const out: PlanningState[] = [];
      for (const s of sessions.list()) {
        const snap = state.current(s.session_id);
        if (snap) out.push(planningState(snap, s.character_name));
      }
      return out.sort((a, b) => b.updated_at - a.updated_at).slice(0, limit);
    },
    stateOfCharacter(name) {
      const id = sessions.sessionForCharacter(name);
      const snap = id ? state.current(id) : undefined;
      return snap ? planningState(snap, name) : undefined;
    },
    decisionStats() {
      const s = decisions.stats();
      return { total_decisions: s.total_decisions, reflex_decisions: s.reflex_decisions, rule_decisions: s.rule_decisions, ml_decisions: s.ml_decisions, llm_decisions: s.llm_decisions };
    },
  };
  return {
    leases: leasesFrom(flags),
    macros: {
      render(template, params) {
        const r = renderMacroTemplate(template, params);
        return { content: r.content, macros: r.macros, automacros: r.automacros };
      },
      current(file) {
        const list = macros.list();
        const blocks = [...list.macros, ...list.automacros].filter((b) => b.file === file).sort((a, b) => a.line - b.line);
        if (blocks.length === 0) return null;
        return `${blocks.map((b) => macros.detail(b.name, b.kind).content).join('\n\n')}\n`;
      },
      async deploy(file, content) {
        const r = await macros.deploy(file, content);
        return { status: r.status, versions: r.versions };
      },
    },
    metrics,
    input,
  };
}
