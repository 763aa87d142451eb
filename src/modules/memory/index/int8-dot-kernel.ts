/**
 * The vector index's coarse scan: one WebAssembly SIMD function that takes the dot product of an
 * int16 query with every int8 row of a contiguous block. A float32 scan of 100,000 × 384 reads
 * 150 MB per query and is memory-bound at ~7-25 ms here; int8 codes read a quarter of that and run
 * about 3× faster, and the index then re-ranks the few rows that can still be in the top k with
 * the exact float32 vectors (see VectorIndex.search).
 *
 * The module is assembled below from its text form (no toolchain needed at build or run time):
 *
 *   (module
 *     (import "env" "memory" (memory 1))
 *     (func (export "dots8") (param $codes i32) (param $q i32) (param $n i32) (param $stride i32) (param $out i32)
 *       (local $r i32) (local $p i32) (local $qp i32) (local $end i32) (local $a0 v128) (local $a1 v128)
 *       (local.set $p (local.get $codes))
 *       (block $done (loop $rows
 *         (br_if $done (i32.ge_u (local.get $r) (local.get $n)))
 *         (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
 *         (local.set $qp (local.get $q))
 *         (local.set $end (i32.add (local.get $p) (local.get $stride)))
 *         (loop $cols                                   ;; 32 dimensions per iteration
 *           ;; a0 += dot(widen_low(p[0..16]), q[0..8]);  a1 += dot(widen_high(p[0..16]), q[8..16])
 *           ;; a0 += dot(widen_low(p[16..32]), q[16..24]); a1 += dot(widen_high(p[16..32]), q[24..32])
 *           (local.set $p (i32.add (local.get $p) (i32.const 32)))
 *           (local.set $qp (i32.add (local.get $qp) (i32.const 64)))
 *           (br_if $cols (i32.lt_u (local.get $p) (local.get $end))))
 *         (local.set $a0 (i32x4.add (local.get $a0) (local.get $a1)))
 *         (i32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
 *           (sum of the four lanes of $a0))
 *         (local.set $r (i32.add (local.get $r) (i32.const 1)))
 *         (br $rows))))
 *
 * `stride` is the row length in bytes, a positive multiple of 32 (rows are zero-padded). Products
 * are int8 × int16 summed in int32: |sum| ≤ stride × 127 × 32767, which fits for stride ≤ 512
 * (checked by the caller); larger rows use the float path.
 */

const I32 = 0x7f;
const V128 = 0x7b;
const SIMD_PREFIX = 0xfd;

/** SIMD opcodes (prefix 0xfd, LEB128 sub-opcode). */
const Op = {
  v128Load: 0x00,
  v128Const: 0x0c,
  i32x4ExtractLane: 0x1b,
  i16x8ExtendLowI8x16S: 0x87,
  i16x8ExtendHighI8x16S: 0x88,
  i32x4Add: 0xae,
  i32x4DotI16x8S: 0xba,
} as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const simd = (op: number): number[] => [SIMD_PREFIX, ...uleb(op)];
const localGet = (i: number): number[] => [0x20, i];
const localSet = (i: number): number[] => [0x21, i];
const i32Const = (v: number): number[] => [0x41, ...sleb(v)];
/** v128.load with a 16-byte alignment hint and a constant offset. */
const load = (offset: number): number[] => [...simd(Op.v128Load), 0x04, ...uleb(offset)];

const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const I32_LT_U = 0x49;
const I32_STORE = [0x36, 0x02, 0x00];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;

function dots8Body(): number[] {
  // params 0-4, then locals: r=5, p=6, qp=7, end=8 (i32), a0=9, a1=10 (v128)
  const [CODES, Q, N, STRIDE, OUT, R, P, QP, ENDP, A0, A1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const code: number[] = [];
  const emit = (...parts: number[][]) => parts.forEach((p) => code.push(...p));
  emit(localGet(CODES), localSet(P));
  emit(BLOCK, LOOP);
  emit(localGet(R), localGet(N), [I32_GE_U], [BR_IF, 1]);
  const zero = [...simd(Op.v128Const), ...new Array<number>(16).fill(0)];
  emit(zero, localSet(A0), zero, localSet(A1));
  emit(localGet(Q), localSet(QP));
  emit(localGet(P), localGet(STRIDE), [I32_ADD], localSet(ENDP));
  emit(LOOP);
  for (const half of [0, 1]) {
    emit(localGet(A0), localGet(P), load(16 * half), simd(Op.i16x8ExtendLowI8x16S), localGet(QP), load(32 * half), simd(Op.i32x4DotI16x8S), simd(Op.i32x4Add), localSet(A0));
    emit(localGet(A1), localGet(P), load(16 * half), simd(Op.i16x8ExtendHighI8x16S), localGet(QP), load(32 * half + 16), simd(Op.i32x4DotI16x8S), simd(Op.i32x4Add), localSet(A1));
  }
  emit(localGet(P), i32Const(32), [I32_ADD], localSet(P));
  emit(localGet(QP), i32Const(64), [I32_ADD], localSet(QP));
  emit(localGet(P), localGet(ENDP), [I32_LT_U], [BR_IF, 0]);
  emit([END]);
  emit(localGet(A0), localGet(A1), simd(Op.i32x4Add), localSet(A0));
  emit(localGet(OUT), localGet(R), i32Const(2), [I32_SHL], [I32_ADD]);
  emit(localGet(A0), simd(Op.i32x4ExtractLane), [0]);
  for (const lane of [1, 2, 3]) emit(localGet(A0), simd(Op.i32x4ExtractLane), [lane], [I32_ADD]);
  emit(I32_STORE);
  emit(localGet(R), i32Const(1), [I32_ADD], localSet(R), [BR, 0]);
  emit([END], [END], [END]);
  const locals = [2, 4, I32, 2, V128];
  return [...locals, ...code];
}

/** The module's bytes (exported for the spec that checks they validate). */
export function int8DotModuleBytes(): Uint8Array {
  const body = dots8Body();
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('dots8'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** Largest row stride (bytes) whose int32 sums cannot overflow: 512 × 127 × 32767 < 2^31. */
export const MAX_KERNEL_STRIDE = 512;

export type Dots8 = (codes: number, query: number, rows: number, stride: number, out: number) => void;

/**
 * The slice of the WebAssembly JS API used here, typed locally: the project's lib settings
 * (ES2023, Node 20 types) do not declare the `WebAssembly` global.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

export const WASM_PAGE_BYTES = 65_536;

let compiled: WasmModule | null | undefined;

/**
 * The compiled kernel, or null where WebAssembly SIMD is unavailable (the index then scans the
 * float32 vectors in JavaScript: same results, slower). Compiled once per process.
 */
export function int8DotModule(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = int8DotModuleBytes();
    compiled = wasm && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

export function createWasmMemory(pages: number): WasmMemory {
  if (!wasm) throw new Error('WebAssembly is not available');
  return new wasm.Memory({ initial: pages });
}

/** Instantiates the kernel over `memory` (one instance per index; instances are cheap). */
export function instantiateDots8(module: WasmModule, memory: WasmMemory): Dots8 {
  if (!wasm) throw new Error('WebAssembly is not available');
  const instance = new wasm.Instance(module, { env: { memory } });
  return instance.exports.dots8 as Dots8;
}
