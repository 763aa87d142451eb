import { onnx } from 'onnx-proto';
import { ACTION_TYPES, FEATURE_NAMES, INPUT_NAME, OUTPUT_NAME } from './ml.constants';
import type { SoftmaxModel } from './softmax-regression';

export interface OnnxExportOptions {
  /** Adds the Softmax node (default true); without it the output is raw logits. */
  softmax?: boolean;
  inputName?: string;
  outputName?: string;
  /** Free-form model metadata (ModelProto.metadata_props). */
  metadata?: Record<string, string>;
  docString?: string;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
/** Opset 13: Softmax on one axis (earlier opsets flatten the trailing dims). */
const OPSET = 13;

function valueInfo(name: string, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function floatTensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  // raw_data is little-endian float32; copy so the tensor owns exactly its bytes.
  const bytes = new Uint8Array(values.byteLength);
  new Float32Array(bytes.buffer).set(values);
  return { name, dims, dataType: FLOAT, rawData: bytes };
}

/**
 * The ONNX bytes of `softmax(input · W + b)`: input `input` float32 [N, F], Gemm with the
 * weights as initializers, Softmax over axis 1, output `probabilities` float32 [N, C].
 * Deterministic: the same model and options give the same bytes.
 */
export function exportSoftmaxRegressionOnnx(model: SoftmaxModel, options: OnnxExportOptions = {}): Uint8Array {
  const F = model.featureCount;
  const C = model.classCount;
  if (model.weights.length !== F * C) throw new RangeError(`weights must have ${F * C} values, got ${model.weights.length}`);
  if (model.bias.length !== C) throw new RangeError(`bias must have ${C} values, got ${model.bias.length}`);
  const inputName = options.inputName ?? INPUT_NAME;
  const outputName = options.outputName ?? OUTPUT_NAME;
  const withSoftmax = options.softmax ?? true;
  const logits = withSoftmax ? 'logits' : outputName;
  const nodes: onnx.INodeProto[] = [{ name: 'gemm', opType: 'Gemm', input: [inputName, 'W', 'b'], output: [logits] }];
  if (withSoftmax) {
    nodes.push({
      name: 'softmax',
      opType: 'Softmax',
      input: [logits],
      output: [outputName],
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    });
  }
  const metadata: Record<string, string> = { ...options.metadata };
  if (F === FEATURE_NAMES.length) metadata.features ??= FEATURE_NAMES.join(',');
  if (C === ACTION_TYPES.length) metadata.classes ??= ACTION_TYPES.join(',');
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'openkore-ai-engine',
    producerVersion: '1',
    docString: options.docString ?? 'Softmax regression over the 28-feature game-state contract',
    metadataProps: Object.keys(metadata)
      .sort()
      .map((key) => ({ key, value: metadata[key] })),
    graph: {
      name: 'softmax_regression',
      node: nodes,
      initializer: [floatTensor('W', [F, C], model.weights), floatTensor('b', [C], model.bias)],
      input: [valueInfo(inputName, ['N', F])],
      output: [valueInfo(outputName, ['N', C])],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
