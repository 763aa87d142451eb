import { MemoryEntity } from './entities/memory.entity';
export { embeddingInput } from './embedding/canonical-json';
export { HashingEmbeddingProvider } from './embedding/hashing-embedding.provider';
export { MemoryModule } from './memory.module';
export { MemoryService } from './memory.service';

/** The tables this module owns, as TypeORM entities (src/entities.ts gathers every module's). */
export const MEMORY_ENTITIES = [MemoryEntity];
