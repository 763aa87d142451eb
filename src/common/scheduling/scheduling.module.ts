import { Global, Module } from '@nestjs/common';
import { PeriodicJobs } from './periodic-jobs';

/** Global: every module registers its periodic jobs through the one PeriodicJobs (needs ScheduleModule.forRoot()). */
@Global()
@Module({ providers: [PeriodicJobs], exports: [PeriodicJobs] })
export class SchedulingModule {}
