/**
 * The data tables the plugin's progression and inventory routes (and the decision's item
 * choices) read: jobs, stat builds, skill plans, healing items, junk items. They are JSON files
 * in TABLES_DIR, shipped with the repository; each names where its facts come from in a
 * `source` field. `validateTables` turns the parsed files into one immutable `Tables` or lists
 * every problem it found.
 */

export const TABLE_FILES = {
  jobs: 'jobs.json',
  statBuilds: 'stat-builds.json',
  skillPlans: 'skill-plans.json',
  healingItems: 'healing-items.json',
  junkItems: 'junk-items.json',
} as const;

export type TableName = keyof typeof TABLE_FILES;

export const STATS = ['str', 'agi', 'vit', 'int', 'dex', 'luk'] as const;
export type Stat = (typeof STATS)[number];

export interface JobInfo {
  readonly id: number;
  readonly name: string;
  /** The class whose stat build and skill plan this job uses; null: none yet. */
  readonly class: string | null;
}

export interface StatStep {
  readonly stat: Stat;
  readonly value: number;
}

export interface StatBuild {
  readonly class: string;
  readonly name: string;
  readonly steps: readonly StatStep[];
  /** The steps as OpenKore's statsAddAuto_list reads them: "agi 30, str 30, …". */
  readonly list: string;
  /** Where the build ends, per stat (1 for a stat it never raises). */
  readonly target: Readonly<Record<Stat, number>>;
}

export interface SkillStep {
  readonly handle: string;
  readonly level: number;
}

export interface SkillInfo {
  readonly handle: string;
  readonly id: number;
  readonly maxLevel: number;
  readonly requires: Readonly<Record<string, number>>;
  /** Classes whose skill tree has it. */
  readonly classes: readonly string[];
}

export interface SkillPlan {
  readonly class: string;
  readonly parent: string | null;
  /** The whole plan: the parent classes' plans first, then this class's own steps. */
  readonly steps: readonly SkillStep[];
  /** The steps as OpenKore's skillsAddAuto_list reads them: "NV_BASIC 9, SM_BASH 5, …". */
  readonly list: string;
}

export interface HealingItem {
  readonly id: number;
  readonly name: string;
  readonly hpMin: number;
  readonly hpMax: number;
}

export interface JunkItem {
  readonly id: number;
  readonly name: string;
  /** OpenKore's raw item type of this item. */
  readonly type: number;
  /** What an NPC pays for one. */
  readonly sellPrice: number;
}

export interface Tables {
  readonly version: number;
  readonly loadedAt: string;
  /** The folder the tables were read from ("none" before the first load). */
  readonly dir: string;
  readonly sources: Readonly<Record<TableName, readonly string[]>>;
  readonly jobsById: ReadonlyMap<number, JobInfo>;
  /** Job names and aliases, lower-cased. */
  readonly jobsByName: ReadonlyMap<string, JobInfo>;
  readonly statBuilds: ReadonlyMap<string, StatBuild>;
  readonly defaultBuild: string | null;
  readonly skills: ReadonlyMap<string, SkillInfo>;
  readonly skillsById: ReadonlyMap<number, SkillInfo>;
  readonly skillPlans: ReadonlyMap<string, SkillPlan>;
  readonly healing: ReadonlyMap<number, HealingItem>;
  readonly junk: ReadonlyMap<number, JunkItem>;
  readonly keep: ReadonlySet<number>;
  readonly equipmentTypes: ReadonlySet<number>;
}

export const EMPTY_TABLES: Tables = Object.freeze<Tables>({
  version: 0,
  loadedAt: new Date(0).toISOString(),
  dir: 'none',
  sources: Object.freeze({ jobs: [], statBuilds: [], skillPlans: [], healingItems: [], junkItems: [] }),
  jobsById: new Map(),
  jobsByName: new Map(),
  statBuilds: new Map(),
  defaultBuild: null,
  skills: new Map(),
  skillsById: new Map(),
  skillPlans: new Map(),
  healing: new Map(),
  junk: new Map(),
  keep: new Set<number>(),
  equipmentTypes: new Set<number>(),
});

export class TablesValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid tables: ${problems.slice(0, 20).join('; ')}${problems.length > 20 ? `; … ${problems.length - 20} more` : ''}`);
  }
}

type Obj = Record<string, unknown>;
type Docs = Record<TableName, unknown>;

const HANDLE = /^[A-Z][A-Z0-9_]{1,63}$/;
const MAX_ENTRIES = 10_000;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0 && v.length <= 64;
}

/** Everything about the tables, checked together (they refer to each other). */
export function validateTables(docs: Docs, meta: { version: number; dir: string; loadedAt?: string }): Tables {
  const problems: string[] = [];
  const at = (name: TableName, path: string, problem: string) => problems.push(`${TABLE_FILES[name]}: ${path}: ${problem}`);

  const sources = {} as Record<TableName, readonly string[]>;
  const body = {} as Record<TableName, Obj>;
  for (const name of Object.keys(TABLE_FILES) as TableName[]) {
    const doc = docs[name];
    if (!isObj(doc)) {
      at(name, '(file)', 'must be a JSON object');
      body[name] = {};
      sources[name] = [];
      continue;
    }
    body[name] = doc;
    const src = typeof doc.source === 'string' ? [doc.source] : doc.source;
    if (!Array.isArray(src) || src.length === 0 || !src.every((s) => typeof s === 'string' && s.trim().length > 0)) {
      at(name, 'source', 'must say where the facts come from (a string or a list of strings)');
      sources[name] = [];
    } else {
      sources[name] = Object.freeze([...(src as string[])]);
    }
  }

  // ---- skill plans (first: the other tables name its classes)
  const skills = new Map<string, SkillInfo>();
  const skillsById = new Map<number, SkillInfo>();
  const rawSkills = body.skillPlans.skills;
  if (!isObj(rawSkills)) at('skillPlans', 'skills', 'must be an object of skill handle → {id, max_level, requires?, classes}');
  else {
    for (const [handle, raw] of Object.entries(rawSkills)) {
      const p = `skills.${handle}`;
      if (!HANDLE.test(handle)) at('skillPlans', p, 'a skill handle is upper case letters, digits and _ (e.g. SM_BASH)');
      if (!isObj(raw)) {
        at('skillPlans', p, 'must be an object');
        continue;
      }
      if (!isInt(raw.id, 1, 100_000)) at('skillPlans', `${p}.id`, 'must be an integer skill id');
      else if (skillsById.has(raw.id)) at('skillPlans', `${p}.id`, `${raw.id} is also ${skillsById.get(raw.id)!.handle}'s id`);
      if (!isInt(raw.max_level, 1, 20)) at('skillPlans', `${p}.max_level`, 'must be an integer in 1-20');
      const requires: Record<string, number> = {};
      if (raw.requires !== undefined) {
        if (!isObj(raw.requires)) at('skillPlans', `${p}.requires`, 'must be an object of skill handle → level');
        else
          for (const [req, level] of Object.entries(raw.requires)) {
            if (!isInt(level, 1, 20)) at('skillPlans', `${p}.requires.${req}`, 'must be a level in 1-20');
            else requires[req] = level;
          }
      }
      const classes = Array.isArray(raw.classes) && raw.classes.every(isName) ? (raw.classes as string[]) : undefined;
      if (!classes || classes.length === 0) at('skillPlans', `${p}.classes`, 'must list the classes whose skill tree has it');
      const info: SkillInfo = Object.freeze({
        handle,
        id: raw.id as number,
        maxLevel: raw.max_level as number,
        requires: Object.freeze(requires),
        classes: Object.freeze([...(classes ?? [])]),
      });
      skills.set(handle, info);
      if (isInt(raw.id, 1, 100_000) && !skillsById.has(raw.id)) skillsById.set(raw.id, info);
    }
    for (const info of skills.values()) {
      for (const [req, level] of Object.entries(info.requires)) {
        const needed = skills.get(req);
        if (!needed) at('skillPlans', `skills.${info.handle}.requires.${req}`, 'is not in skills');
        else if (level > needed.maxLevel) at('skillPlans', `skills.${info.handle}.requires.${req}`, `level ${level} is above its max level ${needed.maxLevel}`);
      }
    }
  }

  const rawClasses = body.skillPlans.classes;
  const classDefs = new Map<string, { parent: string | null; steps: SkillStep[] }>();
  if (!isObj(rawClasses)) at('skillPlans', 'classes', 'must be an object of class → {parent, plan}');
  else {
    for (const [cls, raw] of Object.entries(rawClasses)) {
      const p = `classes.${cls}`;
      if (!isName(cls)) at('skillPlans', p, 'a class name is 1-64 characters');
      if (!isObj(raw)) {
        at('skillPlans', p, 'must be {parent, plan}');
        continue;
      }
      if (raw.parent !== null && !isName(raw.parent)) at('skillPlans', `${p}.parent`, 'must be a class name or null');
      const steps: SkillStep[] = [];
      if (typeof raw.plan !== 'string') at('skillPlans', `${p}.plan`, 'must be a string "HANDLE level, …"');
      else
        raw.plan.split(',').forEach((part, i) => {
          const m = /^\s*([A-Z][A-Z0-9_]*)\s+(\d{1,2})\s*$/.exec(part);
          if (!m) return at('skillPlans', `${p}.plan[${i}]`, `"${part.trim()}" is not "HANDLE level"`);
          steps.push({ handle: m[1], level: Number(m[2]) });
        });
      classDefs.set(cls, { parent: (raw.parent as string | null) ?? null, steps });
    }
  }
  const skillPlans = new Map<string, SkillPlan>();
  const ancestry = (cls: string): string[] | undefined => {
    const chain: string[] = [];
    for (let c: string | null = cls; c !== null; c = classDefs.get(c)?.parent ?? null) {
      if (chain.includes(c) || !classDefs.has(c)) return undefined;
      chain.unshift(c);
    }
    return chain;
  };
  for (const [cls, def] of classDefs) {
    const p = `classes.${cls}`;
    if (def.parent !== null && !classDefs.has(def.parent)) {
      at('skillPlans', `${p}.parent`, `"${def.parent}" is not a class of this table`);
      continue;
    }
    const chain = ancestry(cls);
    if (!chain) {
      at('skillPlans', `${p}.parent`, 'the parents go round in a circle');
      continue;
    }
    const learned = new Map<string, number>();
    const steps: SkillStep[] = [];
    let ok = true;
    for (const c of chain) {
      for (const [i, step] of classDefs.get(c)!.steps.entries()) {
        const where = `classes.${c}.plan[${i}] (${step.handle} ${step.level})`;
        const info = skills.get(step.handle);
        const own = c === cls; // report a parent's problem once, under the parent
        if (!info) {
          if (own) at('skillPlans', where, 'is not in skills');
          ok = false;
          continue;
        }
        if (!info.classes.some((k) => chain.slice(0, chain.indexOf(c) + 1).includes(k))) {
          if (own) at('skillPlans', where, `${c} cannot learn it (it belongs to ${info.classes.join(', ')})`);
          ok = false;
        }
        if (step.level < 1 || step.level > info.maxLevel) {
          if (own) at('skillPlans', where, `level must be 1-${info.maxLevel}`);
          ok = false;
        }
        const before = learned.get(step.handle) ?? 0;
        if (step.level <= before) {
          if (own) at('skillPlans', where, `${step.handle} is already at ${before} by then`);
          ok = false;
        }
        for (const [req, level] of Object.entries(info.requires)) {
          if ((learned.get(req) ?? 0) < level) {
            if (own) at('skillPlans', where, `needs ${req} ${level} earlier in the plan`);
            ok = false;
          }
        }
        learned.set(step.handle, Math.max(before, step.level));
        steps.push(Object.freeze({ ...step }));
      }
    }
    if (ok) skillPlans.set(cls, Object.freeze({ class: cls, parent: def.parent, steps: Object.freeze(steps), list: steps.map((s) => `${s.handle} ${s.level}`).join(', ') }));
  }

  // ---- stat builds
  const statBuilds = new Map<string, StatBuild>();
  const rawBuilds = body.statBuilds.builds;
  if (!isObj(rawBuilds)) at('statBuilds', 'builds', 'must be an object of class → {name, steps}');
  else
    for (const [cls, raw] of Object.entries(rawBuilds)) {
      const p = `builds.${cls}`;
      if (!isObj(raw)) {
        at('statBuilds', p, 'must be {name, steps}');
        continue;
      }
      if (!isName(raw.name)) at('statBuilds', `${p}.name`, 'must be a name of 1-64 characters');
      if (typeof raw.steps !== 'string' || raw.steps.trim() === '') {
        at('statBuilds', `${p}.steps`, 'must be a string "stat value, …"');
        continue;
      }
      const target = Object.fromEntries(STATS.map((s) => [s, 1])) as Record<Stat, number>;
      const steps: StatStep[] = [];
      raw.steps.split(',').forEach((part, i) => {
        const m = /^\s*(str|agi|vit|int|dex|luk)\s+(\d{1,3})\s*$/.exec(part);
        if (!m) return at('statBuilds', `${p}.steps[${i}]`, `"${part.trim()}" is not "stat value" (stats: ${STATS.join(', ')})`);
        const stat = m[1] as Stat;
        const value = Number(m[2]);
        // OpenKore's raiseStat refuses a value above 99 unless statsAdd_over_99 is set.
        if (value < 2 || value > 99) return at('statBuilds', `${p}.steps[${i}]`, `${stat} ${value}: a value is 2-99`);
        if (value <= target[stat]) return at('statBuilds', `${p}.steps[${i}]`, `${stat} is already at ${target[stat]} by then`);
        target[stat] = value;
        steps.push(Object.freeze({ stat, value }));
      });
      statBuilds.set(
        cls,
        Object.freeze({ class: cls, name: raw.name as string, steps: Object.freeze(steps), list: steps.map((s) => `${s.stat} ${s.value}`).join(', '), target: Object.freeze(target) }),
      );
    }
  let defaultBuild: string | null = null;
  if (body.statBuilds.default !== undefined) {
    if (typeof body.statBuilds.default !== 'string' || !statBuilds.has(body.statBuilds.default)) at('statBuilds', 'default', 'must name one of the builds');
    else defaultBuild = body.statBuilds.default;
  }

  // ---- jobs
  const jobsById = new Map<number, JobInfo>();
  const jobsByName = new Map<string, JobInfo>();
  const rawJobs = body.jobs.jobs;
  if (!Array.isArray(rawJobs) || rawJobs.length > MAX_ENTRIES) at('jobs', 'jobs', 'must be a list of {id, name, class}');
  else
    rawJobs.forEach((raw: unknown, i) => {
      const p = `jobs[${i}]`;
      if (!isObj(raw) || !isInt(raw.id, 0, 1_000_000) || !isName(raw.name) || !(raw.class === null || isName(raw.class))) {
        return at('jobs', p, 'must be {id: integer, name: string, class: string or null}');
      }
      if (jobsById.has(raw.id)) return at('jobs', p, `id ${raw.id} is listed twice`);
      const cls = raw.class as string | null;
      if (cls !== null && !statBuilds.has(cls)) at('jobs', p, `class "${cls}" has no build in ${TABLE_FILES.statBuilds}`);
      if (cls !== null && !classDefs.has(cls)) at('jobs', p, `class "${cls}" has no plan in ${TABLE_FILES.skillPlans}`);
      const job: JobInfo = Object.freeze({ id: raw.id, name: raw.name, class: cls });
      jobsById.set(job.id, job);
      const key = job.name.toLowerCase();
      const known = jobsByName.get(key);
      if (known && known.class !== job.class) at('jobs', p, `"${job.name}" is also job ${known.id}, with another class`);
      else if (!known) jobsByName.set(key, job);
    });
  const aliases = body.jobs.aliases;
  if (aliases !== undefined) {
    if (!isObj(aliases)) at('jobs', 'aliases', 'must be an object of other name → job name');
    else
      for (const [alias, name] of Object.entries(aliases)) {
        const job = typeof name === 'string' ? jobsByName.get(name.toLowerCase()) : undefined;
        if (!job) at('jobs', `aliases.${alias}`, `"${String(name)}" is not a job name`);
        else if (!jobsByName.has(alias.toLowerCase())) jobsByName.set(alias.toLowerCase(), job);
      }
  }

  // ---- healing items
  const healing = new Map<number, HealingItem>();
  const rawHealing = body.healingItems.items;
  if (!Array.isArray(rawHealing) || rawHealing.length > MAX_ENTRIES) at('healingItems', 'items', 'must be a list of {id, name, hp_min, hp_max}');
  else
    rawHealing.forEach((raw: unknown, i) => {
      const p = `items[${i}]`;
      if (!isObj(raw) || !isInt(raw.id, 1, 10_000_000) || !isName(raw.name) || !isInt(raw.hp_min, 0, 1_000_000) || !isInt(raw.hp_max, 1, 1_000_000)) {
        return at('healingItems', p, 'must be {id, name, hp_min, hp_max} (integers, hp_max at least 1)');
      }
      if (raw.hp_min > raw.hp_max) return at('healingItems', p, 'hp_min is above hp_max');
      if (healing.has(raw.id)) return at('healingItems', p, `id ${raw.id} is listed twice`);
      healing.set(raw.id, Object.freeze({ id: raw.id, name: raw.name, hpMin: raw.hp_min, hpMax: raw.hp_max }));
    });

  // ---- junk items
  const junk = new Map<number, JunkItem>();
  const keep = new Set<number>();
  const equipmentTypes = new Set<number>();
  const j = body.junkItems;
  if (!Array.isArray(j.equipment_types) || !j.equipment_types.every((t) => isInt(t, 0, 10_000))) at('junkItems', 'equipment_types', 'must be a list of item type numbers');
  else for (const t of j.equipment_types as number[]) equipmentTypes.add(t);
  if (!Array.isArray(j.keep) || j.keep.length > MAX_ENTRIES) at('junkItems', 'keep', 'must be a list of {id, name}');
  else
    j.keep.forEach((raw: unknown, i) => {
      if (!isObj(raw) || !isInt(raw.id, 1, 10_000_000) || !isName(raw.name)) return at('junkItems', `keep[${i}]`, 'must be {id, name}');
      keep.add(raw.id);
    });
  if (!Array.isArray(j.items) || j.items.length > MAX_ENTRIES) at('junkItems', 'items', 'must be a list of {id, name, type, sell_price}');
  else
    j.items.forEach((raw: unknown, i) => {
      const p = `items[${i}]`;
      if (!isObj(raw) || !isInt(raw.id, 1, 10_000_000) || !isName(raw.name) || !isInt(raw.type, 0, 10_000) || !isInt(raw.sell_price, 0, 1_000_000_000)) {
        return at('junkItems', p, 'must be {id, name, type, sell_price} (integers)');
      }
      if (junk.has(raw.id)) return at('junkItems', p, `id ${raw.id} is listed twice`);
      // An item is junk or it is not: a table that says both is a mistake worth refusing.
      if (keep.has(raw.id)) return at('junkItems', p, `${raw.name} (${raw.id}) is also on the keep list`);
      if (healing.has(raw.id)) return at('junkItems', p, `${raw.name} (${raw.id}) is a healing item (${TABLE_FILES.healingItems}): never sold`);
      junk.set(raw.id, Object.freeze({ id: raw.id, name: raw.name, type: raw.type, sellPrice: raw.sell_price }));
    });

  if (problems.length > 0) throw new TablesValidationError(problems);
  return Object.freeze({
    version: meta.version,
    loadedAt: meta.loadedAt ?? new Date().toISOString(),
    dir: meta.dir,
    sources: Object.freeze(sources),
    jobsById,
    jobsByName,
    statBuilds,
    defaultBuild,
    skills,
    skillsById,
    skillPlans,
    healing,
    junk,
    keep,
    equipmentTypes,
  });
}
