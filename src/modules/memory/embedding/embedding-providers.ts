import type { AppConfig } from '../../../config/app-config';
import type { EmbeddingProvider } from './embedding-provider';
import { HashingEmbeddingProvider } from './hashing-embedding.provider';

export type EmbeddingProviderName = AppConfig['memoryEmbeddingProvider'];
export type EmbeddingProviderFactory = (config: AppConfig) => EmbeddingProvider | Promise<EmbeddingProvider>;

/**
 * MEMORY_EMBEDDING_PROVIDER → provider. The seam for a learned encoder: add its name to the
 * config's allowed values and a factory here, e.g.
 *   onnx: (config) => OnnxTextEmbeddingProvider.load(path.join(config.modelDir, 'text-encoder.onnx'))
 * (async factories are awaited at boot). Memories remember the provider's `name`; after a switch,
 * a session's memories of the old vector space are re-embedded from their stored events when its
 * index is next loaded.
 */
export const EMBEDDING_PROVIDER_FACTORIES: Record<EmbeddingProviderName, EmbeddingProviderFactory> = {
  hashing: () => new HashingEmbeddingProvider(),
};

export function createEmbeddingProvider(config: AppConfig): EmbeddingProvider | Promise<EmbeddingProvider> {
  return EMBEDDING_PROVIDER_FACTORIES[config.memoryEmbeddingProvider](config);
}
