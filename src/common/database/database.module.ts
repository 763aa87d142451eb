import { Global, Module } from '@nestjs/common';
import { DatabaseService } from './database.service';
import { WalCheckpointer } from './wal-checkpointer.service';

@Global()
@Module({
  providers: [DatabaseService, WalCheckpointer],
  exports: [DatabaseService, WalCheckpointer],
})
export class DatabaseModule {}
