import { Module } from '@nestjs/common';
import { LockManager, LockOrder } from '../../common/concurrency';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { SessionModule } from '../session';
import { EmbeddingGenerator } from './embedding/embedding-generator';
import { EMBEDDING_PROVIDER, type EmbeddingProvider } from './embedding/embedding-provider';
import { createEmbeddingProvider } from './embedding/embedding-providers';
import { MemoryController } from './memory.controller';
import { MEMORY_OPTIONS, memoryOptionsFrom } from './memory.options';
import { MemoryService } from './memory.service';
import { MemoryRetention } from './memory.retention';

/** Name of the semaphore that bounds concurrent embedding generations. */
export const EMBEDDING_SEMAPHORE = 'memory.embedding';
/**
 * Its level, EMBEDDING: above MEMORY (7). Requests compute embeddings before taking MEMORY, but
 * loading an index re-embeds stale rows under the session's MEMORY lock; nothing is taken while
 * it is held (providers take no engine lock).
 */
export const EMBEDDING_SEMAPHORE_ORDER = LockOrder.EMBEDDING;

/** Long-term memory (docs/architecture.md §11): store, retrieve, consolidate; embeddings behind EmbeddingProvider. */
@Module({
  imports: [SessionModule],
  controllers: [MemoryController],
  providers: [
    { provide: MEMORY_OPTIONS, inject: [APP_CONFIG], useFactory: memoryOptionsFrom },
    { provide: EMBEDDING_PROVIDER, inject: [APP_CONFIG], useFactory: createEmbeddingProvider },
    {
      provide: EmbeddingGenerator,
      inject: [EMBEDDING_PROVIDER, LockManager, APP_CONFIG],
      useFactory: (provider: EmbeddingProvider, locks: LockManager, config: AppConfig) =>
        new EmbeddingGenerator(provider, locks.semaphore(EMBEDDING_SEMAPHORE, EMBEDDING_SEMAPHORE_ORDER, config.memoryEmbeddingConcurrency), config.memoryEmbeddingCacheSize),
    },
    MemoryService,
    MemoryRetention,
  ],
  exports: [MemoryService],
})
export class MemoryModule {}
