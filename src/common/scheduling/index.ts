export { PeriodicJob, PeriodicJobs, type JobError, type JobStatus, type PeriodicJobOptions } from './periodic-jobs';
export { SchedulingModule } from './scheduling.module';
