import { createHash } from 'node:crypto';
import { onnx } from 'onnx-proto';
import { CLASS_COUNT, FEATURE_COUNT, INPUT_NAME, OUTPUT_NAME } from './ml.constants';
import { ModelValidationError } from './ml.errors';
import { type InferenceSession, ort, type SessionOptions, toOrtBytes, toOrtFloat32 } from './ort-runtime';

/** What validation found, kept with the model and shown by GET /ml/model. */
export interface ModelValidationReport {
  input: { name: string; type: string; shape: Array<number | string> };
  output: { name: string; type: string; shape: Array<number | string> };
  probe_rows: number;
  /** Largest |Σp − 1| over the probe rows. */
  max_sum_error: number;
}

export interface ModelSource {
  /** Path relative to MODEL_DIR. */
  path: string;
  /** Where the model came from: default, stage, train, boot. */
  origin: string;
}

/** Row sums of a valid model's output must be within this of 1. */
export const SUM_TOLERANCE = 1e-3;

const SESSION_OPTIONS: SessionOptions = {
  // The contract's models are a few KB: one thread per run beats waking a pool on 2 shared cores.
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * One loaded ONNX model that met the contract: an onnxruntime session plus what is known about
 * it. Immutable apart from its counters; the model manager decides who may run it and when it
 * is released.
 */
export class OnnxModel {
  inferenceCount = 0;
  failedInferences = 0;
  activeInferences = 0;
  private released = false;

  private constructor(
    private readonly session: InferenceSession,
    readonly inputName: string,
    readonly outputName: string,
    readonly sha256: string,
    readonly sizeBytes: number,
    readonly source: ModelSource,
    readonly validation: ModelValidationReport,
    readonly metadata: Record<string, string>,
    readonly loadedAt: number,
  ) {}

  /**
   * Loads `bytes` into a new session and validates it against the contract: one input `input`
   * float32 [N, 28]; an output float32 [N, 15]; a probe batch whose rows are finite
   * probabilities summing to 1. Throws ModelValidationError (the session is released).
   */
  static async load(bytes: Uint8Array, source: ModelSource): Promise<OnnxModel> {
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(toOrtBytes(bytes), SESSION_OPTIONS);
    } catch (err) {
      throw new ModelValidationError(`Not a loadable ONNX model: ${(err as Error).message}`, { model_path: source.path });
    }
    try {
      const { input, output } = checkSignature(session);
      const validation = await probe(session, input, output);
      const metadata = readMetadata(bytes);
      return new OnnxModel(session, input.name, output.name, sha256(bytes), bytes.byteLength, source, validation, metadata, Date.now());
    } catch (err) {
      await session.release().catch(() => undefined);
      if (err instanceof ModelValidationError) {
        throw new ModelValidationError(err.message, { model_path: source.path, ...(err.details as object | undefined) });
      }
      throw new ModelValidationError(`Model failed its test inference: ${(err as Error).message}`, { model_path: source.path });
    }
  }

  /** Class probabilities for `rows` rows of FEATURE_COUNT features: [rows × CLASS_COUNT]. */
  async run(features: Float32Array, rows: number): Promise<Float32Array> {
    return runSession(this.session, this.inputName, this.outputName, features, rows);
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Frees the native session; the caller guarantees nothing runs on it any more. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/** producer and metadata_props of the model file (informational; never trusted for anything). */
function readMetadata(bytes: Uint8Array): Record<string, string> {
  try {
    const proto = onnx.ModelProto.decode(bytes);
    const out: Record<string, string> = {};
    if (proto.producerName) out.producer = proto.producerName;
    for (const p of (proto.metadataProps ?? []).slice(0, 32)) if (p.key && typeof p.value === 'string') out[p.key.slice(0, 64)] = p.value.slice(0, 1000);
    return out;
  } catch {
    return {};
  }
}

interface TensorInfo {
  name: string;
  type: string;
  shape: Array<number | string>;
}

function describe(meta: InferenceSession['inputMetadata'][number] | undefined, name: string): TensorInfo | undefined {
  if (!meta || !meta.isTensor) return undefined;
  return { name, type: meta.type, shape: [...meta.shape] };
}

/** A batch dimension must be dynamic (symbolic or unknown), the other one exact. */
function matches(shape: ReadonlyArray<number | string>, width: number): boolean {
  if (shape.length === 0) return true; // shape unknown: the probe decides
  if (shape.length !== 2) return false;
  const [batch, w] = shape;
  const dynamicBatch = typeof batch === 'string' || batch === -1 || batch === 0;
  return dynamicBatch && (w === width || typeof w === 'string');
}

function checkSignature(session: InferenceSession): { input: TensorInfo; output: TensorInfo } {
  const inputs = session.inputNames;
  if (inputs.length !== 1 || inputs[0] !== INPUT_NAME) {
    throw new ModelValidationError(`The model must have exactly one input named "${INPUT_NAME}"; it has [${inputs.join(', ')}]`);
  }
  const input = describe(session.inputMetadata[0], inputs[0]);
  if (!input) throw new ModelValidationError(`Input "${INPUT_NAME}" is not a tensor`);
  if (input.type !== 'float32' || !matches(input.shape, FEATURE_COUNT)) {
    throw new ModelValidationError(
      `Input "${INPUT_NAME}" must be float32 [N, ${FEATURE_COUNT}]; it is ${input.type} [${input.shape.join(', ')}]`,
    );
  }
  const candidates = session.outputNames
    .map((name, i) => describe(session.outputMetadata[i], name))
    .filter((o): o is TensorInfo => !!o && o.type === 'float32' && matches(o.shape, CLASS_COUNT));
  const output = candidates.find((o) => o.name === OUTPUT_NAME) ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (!output) {
    const all = session.outputNames.map((n, i) => {
      const d = describe(session.outputMetadata[i], n);
      return d ? `${n}: ${d.type} [${d.shape.join(', ')}]` : `${n}: not a tensor`;
    });
    throw new ModelValidationError(
      `The model must have one float32 [N, ${CLASS_COUNT}] probability output` +
        `${candidates.length > 1 ? ` (several match; name one "${OUTPUT_NAME}")` : ''}; outputs: ${all.join('; ')}`,
    );
  }
  return { input, output };
}

/** Probe rows: all zeros, all ones, and deterministic values spread over each feature's range. */
export function probeBatch(rows = 8): Float32Array {
  const data = new Float32Array(rows * FEATURE_COUNT);
  data.fill(1, FEATURE_COUNT, 2 * FEATURE_COUNT);
  let seed = 12345;
  for (let i = 2 * FEATURE_COUNT; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = (seed / 2 ** 32) * (i % 3 === 0 ? 20 : 1);
  }
  return data;
}

async function probe(session: InferenceSession, input: TensorInfo, output: TensorInfo): Promise<ModelValidationReport> {
  const rows = 8;
  const probs = await runSession(session, input.name, output.name, probeBatch(rows), rows);
  let maxSumError = 0;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < CLASS_COUNT; c++) {
      const p = probs[r * CLASS_COUNT + c];
      if (!Number.isFinite(p)) throw new ModelValidationError(`Test inference gave a non-finite probability (row ${r}, class ${c})`);
      if (p < -1e-6 || p > 1 + 1e-6) throw new ModelValidationError(`Test inference gave ${p}, not a probability (row ${r}, class ${c})`);
      sum += p;
    }
    maxSumError = Math.max(maxSumError, Math.abs(sum - 1));
  }
  if (maxSumError > SUM_TOLERANCE) {
    throw new ModelValidationError(`Test inference probabilities do not sum to 1 (off by up to ${maxSumError.toPrecision(3)})`);
  }
  return { input, output, probe_rows: rows, max_sum_error: maxSumError };
}

async function runSession(
  session: InferenceSession,
  inputName: string,
  outputName: string,
  features: Float32Array,
  rows: number,
): Promise<Float32Array> {
  if (features.length !== rows * FEATURE_COUNT) {
    throw new RangeError(`Expected ${rows * FEATURE_COUNT} feature values for ${rows} rows, got ${features.length}`);
  }
  const result = await session.run({ [inputName]: new ort.Tensor('float32', toOrtFloat32(features), [rows, FEATURE_COUNT]) }, [outputName]);
  const out = result[outputName];
  const dims = out.dims;
  if (out.type !== 'float32' || dims.length !== 2 || dims[0] !== rows || dims[1] !== CLASS_COUNT) {
    throw new ModelValidationError(`Output "${outputName}" is ${out.type} [${dims.join(', ')}], expected float32 [${rows}, ${CLASS_COUNT}]`);
  }
  return out.data as Float32Array;
}
