import { endianness } from 'node:os';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** A vector as the `memories.embedding` BLOB: float32, little-endian, dims × 4 bytes. */
export function encodeEmbedding(vector: Float32Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  const out = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i], i * 4);
  return out;
}

/** The BLOB back as a fresh Float32Array (Buffers may be unaligned, so always a copy). */
export function decodeEmbedding(blob: Uint8Array, dims: number): Float32Array | undefined {
  if (blob.byteLength !== dims * 4) return undefined;
  const out = new Float32Array(dims);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(blob);
  } else {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let i = 0; i < dims; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}
