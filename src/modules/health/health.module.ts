import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SessionModule } from '../session';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { WarmupService } from './warmup.service';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), SessionModule],
  controllers: [HealthController],
  providers: [HealthService, WarmupService],
  exports: [HealthService, WarmupService],
})
export class HealthModule {}
