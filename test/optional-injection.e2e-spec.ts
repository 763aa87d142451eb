import { OPTIONAL_DEPS_METADATA, PARAMTYPES_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { DecisionService } from '../src/modules/decision';
import { TablesService } from '../src/modules/progression';
import { type RunningEngine, startEngine } from './support/engine';

/**
 * `@Optional() x: T | null` without `@Inject(T)`: the emitted parameter type of a union is
 * `Object`, which no provider is registered under, so Nest injects nothing — silently, since the
 * parameter is optional — and the default (null, a standalone instance) takes its place.
 */
function optionalParametersWithoutToken(app: RunningEngine['engine']['app']): string[] {
  const found = new Set<string>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of [...module.providers.values(), ...module.controllers.values()]) {
      const type = wrapper.metatype;
      if (typeof type !== 'function' || wrapper.inject) continue;
      const optional: number[] = Reflect.getMetadata(OPTIONAL_DEPS_METADATA, type) ?? [];
      const declared: Array<{ index: number }> = Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, type) ?? [];
      const types: unknown[] = Reflect.getMetadata(PARAMTYPES_METADATA, type) ?? [];
      for (const index of optional) {
        if (declared.some((d) => d.index === index)) continue;
        if (types[index] === Object || types[index] === undefined) found.add(`${type.name} parameter ${index}`);
      }
    }
  }
  return [...found].sort();
}

describe('optional constructor parameters', () => {
  let e: RunningEngine | undefined;
  afterAll(async () => {
    await e?.stop();
  });

  it('every one names the provider it wants, and the decision service gets the data tables', async () => {
    e = await startEngine();
    expect(optionalParametersWithoutToken(e.engine.app)).toEqual([]);
    // The healing items of the loaded tables, not only the built-in core of them.
    const decisions = e.engine.app.get(DecisionService) as unknown as { tables: TablesService | null };
    expect(decisions.tables).toBe(e.engine.app.get(TablesService));
  });
});
