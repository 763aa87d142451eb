import type * as OrtModule from 'onnxruntime-node';

/**
 * onnxruntime-node, the one place it is loaded.
 *
 * In the engine this is plain `require('onnxruntime-node')`. Under jest it is loaded by Node's
 * own loader instead of jest's sandboxed one: jest runs every test file in its own vm realm but
 * loads native addons once per process in the outer realm, so the arrays onnxruntime's addon
 * creates for outputs belong to the outer realm while the Tensor class it checks them against
 * belongs to the test's realm, and every inference fails with "A float32 tensor's data must be
 * type of Float32Array". With the library in the outer realm too, library, Tensor class and
 * arrays agree, and in-process engines (e2e tests of every module) get a working ML tier.
 * Callers' arrays are converted on the way in (`toOrtFloat32`, `toOrtBytes`): a no-op outside
 * jest, where there is one realm.
 */
function load(): typeof OrtModule {
  if (process.env.JEST_WORKER_ID !== undefined) {
    // jest's `module` mock copies the real Module's statics, _load included.
    const loader = require('node:module') as { _load?: (request: string, parent: null, isMain: boolean) => unknown };
    if (typeof loader._load === 'function') return loader._load(require.resolve('onnxruntime-node'), null, false) as typeof OrtModule;
  }
  return require('onnxruntime-node') as typeof OrtModule;
}

export const ort = load();

export type InferenceSession = OrtModule.InferenceSession;
export type SessionOptions = OrtModule.InferenceSession.SessionOptions;

const OrtFloat32Array = new ort.Tensor('float32', [0], [1]).data.constructor as Float32ArrayConstructor;
const OrtUint8Array = new ort.Tensor('uint8', [0], [1]).data.constructor as Uint8ArrayConstructor;

export function toOrtFloat32(values: Float32Array): Float32Array {
  return values instanceof OrtFloat32Array ? values : OrtFloat32Array.from(values);
}

export function toOrtBytes(bytes: Uint8Array): Uint8Array {
  return bytes instanceof OrtUint8Array ? bytes : OrtUint8Array.from(bytes);
}
