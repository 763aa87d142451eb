import type { JobInfo, SkillPlan, Stat, StatBuild, Tables } from './tables';
import { STATS } from './tables';

/** A job as a client names it: the raw job id (number or decimal string) or a name, any case. */
export function resolveJob(tables: Tables, raw: unknown): JobInfo | undefined {
  if (typeof raw === 'number') return Number.isInteger(raw) ? tables.jobsById.get(raw) : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (/^\d{1,9}$/.test(text)) return tables.jobsById.get(Number(text));
  return tables.jobsByName.get(text.toLowerCase());
}

export type StatsMatch = 'job' | 'stats' | 'default' | 'none';

export interface BuildChoice {
  build: StatBuild | undefined;
  matchedBy: StatsMatch;
}

/**
 * The stat build for a character: its job's when the job is known and has one; otherwise the
 * build whose end point its current stats already lean towards (the field plugin's level-up
 * call names no job); otherwise the table's default.
 */
export function chooseStatBuild(tables: Tables, job: JobInfo | undefined, stats: Partial<Record<Stat, number>> | undefined): BuildChoice {
  const own = job?.class ? tables.statBuilds.get(job.class) : undefined;
  if (own) return { build: own, matchedBy: 'job' };
  const leaning = stats ? closestBuild(tables, stats) : undefined;
  if (leaning) return { build: leaning, matchedBy: 'stats' };
  const fallback = tables.defaultBuild ? tables.statBuilds.get(tables.defaultBuild) : undefined;
  return fallback ? { build: fallback, matchedBy: 'default' } : { build: undefined, matchedBy: 'none' };
}

/** Cosine similarity of the points spent (above 1) and each build's end point; none when nothing was spent. */
function closestBuild(tables: Tables, stats: Partial<Record<Stat, number>>): StatBuild | undefined {
  const spent = STATS.map((s) => Math.max(0, (stats[s] ?? 1) - 1));
  const norm = Math.hypot(...spent);
  if (norm === 0) return undefined;
  let best: StatBuild | undefined;
  let bestScore = -1;
  for (const build of tables.statBuilds.values()) {
    const aim = STATS.map((s) => build.target[s] - 1);
    const score = aim.reduce((sum, a, i) => sum + a * spent[i], 0) / (Math.hypot(...aim) * norm || 1);
    // Strictly better only: on a tie the table's earlier build wins, so the answer is stable.
    if (score > bestScore + 1e-9) {
      best = build;
      bestScore = score;
    }
  }
  return best;
}

/** The first step the character has not reached yet. */
export function nextStatStep(build: StatBuild, stats: Partial<Record<Stat, number>> | undefined): string | null {
  const step = build.steps.find((s) => (stats?.[s.stat] ?? 1) < s.value);
  return step ? `${step.stat} ${step.value}` : null;
}

export type SkillsMatch = 'job' | 'skills' | 'none';

export interface PlanChoice {
  plan: SkillPlan | undefined;
  matchedBy: SkillsMatch;
}

/**
 * The skill plan for a character: its declared job's, unless the skills it has learned show a
 * class further down that line (the field plugin may name "novice" for any job) or the job is
 * unknown; then the class its learned skills belong to.
 */
export function chooseSkillPlan(tables: Tables, job: JobInfo | undefined, learned: Readonly<Record<string, number>> | undefined): PlanChoice {
  const declared = job?.class ? tables.skillPlans.get(job.class) : undefined;
  const inferred = learned ? classFromSkills(tables, learned) : undefined;
  if (declared && (!inferred || inferred === declared || !descendsFrom(tables, inferred, declared.class))) return { plan: declared, matchedBy: 'job' };
  if (inferred) return { plan: inferred, matchedBy: 'skills' };
  return { plan: undefined, matchedBy: 'none' };
}

function descendsFrom(tables: Tables, plan: SkillPlan, ancestor: string): boolean {
  for (let p = plan.parent; p !== null; p = tables.skillPlans.get(p)?.parent ?? null) if (p === ancestor) return true;
  return false;
}

/**
 * The class the learned skills point to: the one whose line (it and its parents) can learn the
 * most of them, and among those the most basic one (a Mage's bolts do not make it a Wizard;
 * a Knight's first Knight skill does).
 */
function classFromSkills(tables: Tables, learned: Readonly<Record<string, number>>): SkillPlan | undefined {
  const held = Object.keys(learned).filter((h) => learned[h] > 0 && tables.skills.has(h));
  if (held.length === 0) return undefined;
  let best: SkillPlan | undefined;
  let bestCovered = 0;
  for (const plan of tables.skillPlans.values()) {
    const line = new Set<string>();
    for (let c: string | null = plan.class; c !== null; c = tables.skillPlans.get(c)?.parent ?? null) line.add(c);
    const covered = held.filter((h) => tables.skills.get(h)!.classes.some((c) => line.has(c))).length;
    if (covered > bestCovered || (covered === bestCovered && covered > 0 && best && plan.steps.length < best.steps.length)) {
      best = plan;
      bestCovered = covered;
    }
  }
  return best;
}

/** One inventory row of the sell request, as read (any field may be missing). */
export interface SellRow {
  index: number;
  id?: number;
  name?: string;
  amount?: number;
  type?: number | string;
  invIndex?: number;
  equipped?: boolean;
}

export interface SoldItem {
  invIndex: number;
  id: number;
  name: string;
  amount: number;
  sell_price: number;
  zeny: number;
}

export interface KeptItem {
  invIndex?: number;
  id?: number;
  name?: string;
  reason: string;
}

export interface SellPlan {
  commands: string[];
  estimatedZeny: number;
  sold: SoldItem[];
  kept: KeptItem[];
}

/**
 * What to sell: only items the junk table lists (by id, with its type matching when the client
 * sends one), never a healing item, an item on a keep list, or one that is or may be worn.
 * Anything uncertain is kept. Commands are OpenKore's `sell <inventory index> <amount>`.
 */
export function planSale(tables: Tables, rows: readonly SellRow[], keep: { ids: ReadonlySet<number>; names: ReadonlySet<string> }): SellPlan {
  const sold: SoldItem[] = [];
  const kept: KeptItem[] = [];
  // An index listed twice is ambiguous (which item would `sell` take?): neither row is sold.
  const listed = new Map<number, number>();
  for (const row of rows) if (row.invIndex !== undefined) listed.set(row.invIndex, (listed.get(row.invIndex) ?? 0) + 1);
  const rawType = (t: number | string | undefined) => (typeof t === 'number' ? t : undefined);
  for (const row of rows) {
    const keepIt = (reason: string) => kept.push({ invIndex: row.invIndex, id: row.id, name: row.name, reason });
    if (row.id === undefined) {
      keepIt('no item id');
      continue;
    }
    const entry = tables.junk.get(row.id);
    const type = rawType(row.type);
    if (tables.healing.has(row.id) || type === 0) keepIt('healing item');
    else if (tables.keep.has(row.id) || keep.ids.has(row.id) || (row.name !== undefined && keep.names.has(row.name.toLowerCase()))) keepIt('on the keep list');
    else if (row.equipped === true) keepIt('equipped');
    else if (!entry) keepIt('not in the junk table');
    else if (type !== undefined && type !== entry.type) keepIt(`type ${type} is not the table's ${entry.type} for item ${entry.id}`);
    else if ((tables.equipmentTypes.has(entry.type) || (type !== undefined && tables.equipmentTypes.has(type))) && row.equipped !== false) keepIt('may be worn');
    else if (row.invIndex === undefined) keepIt('no inventory index');
    else if (listed.get(row.invIndex)! > 1) keepIt(`inventory index ${row.invIndex} listed twice`);
    else if (row.amount !== undefined && row.amount < 1) keepIt('none held');
    else {
      const amount = row.amount ?? 1;
      sold.push({ invIndex: row.invIndex, id: entry.id, name: row.name ?? entry.name, amount, sell_price: entry.sellPrice, zeny: amount * entry.sellPrice });
    }
  }
  sold.sort((a, b) => a.invIndex - b.invIndex);
  return {
    commands: sold.map((s) => `sell ${s.invIndex} ${s.amount}`),
    estimatedZeny: sold.reduce((sum, s) => sum + s.zeny, 0),
    sold,
    kept,
  };
}
