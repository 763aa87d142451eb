/**
 * A bot's eventMacro variables (eventMacro/Core.pm: Scalar_/Array_/Hash_Variable_List_Hash):
 * scalars, arrays and hashes, global to the bot — every macro the session runs sees them, and
 * they outlive an execution as they outlive a macro in eventMacro. An element or a scalar set to
 * the text "undef" becomes undefined. Bounded, so a runaway macro cannot grow it without end.
 */
export class VariableStore {
  private readonly scalars = new Map<string, string>();
  private readonly arrays = new Map<string, Array<string | undefined>>();
  private readonly hashes = new Map<string, Map<string, string | undefined>>();
  private size = 0;

  constructor(private readonly limits: { maxEntries: number; maxValueLength: number } = { maxEntries: 10_000, maxValueLength: 4_096 }) {}

  getScalar(name: string): string | undefined {
    return this.scalars.get(name);
  }

  setScalar(name: string, value: string | undefined): void {
    if (value === undefined || value === 'undef') {
      if (this.scalars.delete(name)) this.size--;
      return;
    }
    if (!this.scalars.has(name)) this.grow(1);
    this.scalars.set(name, this.cap(value));
  }

  arraySize(name: string): number {
    return this.arrays.get(name)?.length ?? 0;
  }

  getElement(name: string, index: number): string | undefined {
    return this.arrays.get(name)?.[index];
  }

  setElement(name: string, index: number, value: string | undefined): void {
    if (index > this.limits.maxEntries) throw new VariableLimitError(`index ${index} of @${name} is beyond ${this.limits.maxEntries}`);
    const array = this.arrays.get(name) ?? [];
    this.grow(Math.max(0, index + 1 - array.length));
    while (array.length <= index) array.push(undefined);
    array[index] = value === 'undef' || value === undefined ? undefined : this.cap(value);
    this.arrays.set(name, array);
  }

  setArray(name: string, members: readonly string[]): void {
    this.clearArray(name);
    this.grow(members.length);
    this.arrays.set(name, members.map((m) => (m === 'undef' ? undefined : this.cap(m))));
  }

  clearArray(name: string): void {
    const old = this.arrays.get(name);
    if (old) this.size -= old.length;
    this.arrays.delete(name);
  }

  push(name: string, value: string, front: boolean): number {
    const array = this.arrays.get(name) ?? [];
    this.grow(1);
    const member = value === 'undef' ? undefined : this.cap(value);
    if (front) array.unshift(member);
    else array.push(member);
    this.arrays.set(name, array);
    return array.length;
  }

  pop(name: string, front: boolean): string | undefined {
    const array = this.arrays.get(name);
    if (!array || array.length === 0) return undefined;
    this.size--;
    return front ? array.shift() : array.pop();
  }

  hashSize(name: string): number {
    return this.hashes.get(name)?.size ?? 0;
  }

  hasKey(name: string, key: string): boolean {
    return this.hashes.get(name)?.has(key) ?? false;
  }

  getKey(name: string, key: string): string | undefined {
    return this.hashes.get(name)?.get(key);
  }

  setKey(name: string, key: string, value: string | undefined): void {
    const hash = this.hashes.get(name) ?? new Map<string, string | undefined>();
    if (!hash.has(key)) this.grow(1);
    hash.set(key, value === 'undef' || value === undefined ? undefined : this.cap(value));
    this.hashes.set(name, hash);
  }

  deleteKey(name: string, key: string): string | undefined {
    const hash = this.hashes.get(name);
    if (!hash || !hash.has(key)) return undefined;
    const value = hash.get(key);
    hash.delete(key);
    this.size--;
    return value;
  }

  setHash(name: string, entries: ReadonlyArray<[string, string]>): void {
    const hash = this.hashes.get(name) ?? new Map<string, string | undefined>();
    for (const [k, v] of entries) {
      if (!hash.has(k)) this.grow(1);
      hash.set(k, v === 'undef' ? undefined : this.cap(v));
    }
    this.hashes.set(name, hash);
  }

  clearHash(name: string): void {
    const old = this.hashes.get(name);
    if (old) this.size -= old.size;
    this.hashes.delete(name);
  }

  keys(name: string): string[] {
    return [...(this.hashes.get(name)?.keys() ?? [])];
  }

  values(name: string): Array<string | undefined> {
    return [...(this.hashes.get(name)?.values() ?? [])];
  }

  /** A snapshot for the API (arrays and hashes in full). */
  toJSON(): { scalars: Record<string, string>; arrays: Record<string, Array<string | null>>; hashes: Record<string, Record<string, string | null>> } {
    return {
      scalars: Object.fromEntries(this.scalars),
      arrays: Object.fromEntries([...this.arrays].map(([k, v]) => [k, v.map((x) => x ?? null)])),
      hashes: Object.fromEntries([...this.hashes].map(([k, v]) => [k, Object.fromEntries([...v].map(([a, b]) => [a, b ?? null]))])),
    };
  }

  private grow(n: number): void {
    if (this.size + n > this.limits.maxEntries) throw new VariableLimitError(`more than ${this.limits.maxEntries} variables`);
    this.size += n;
  }

  private cap(value: string): string {
    if (value.length > this.limits.maxValueLength) throw new VariableLimitError(`a value longer than ${this.limits.maxValueLength} characters`);
    return value;
  }
}

export class VariableLimitError extends Error {}
