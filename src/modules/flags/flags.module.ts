import { Module } from '@nestjs/common';
import { FlagService } from './flag.service';
import { FlagsController } from './flags.controller';

/** Cross-process flags and version counters; import this module to use FlagService. */
@Module({
  controllers: [FlagsController],
  providers: [FlagService],
  exports: [FlagService],
})
export class FlagsModule {}
