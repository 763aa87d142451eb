import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { buildDataSourceOptions } from './src/common/database/data-source.options';
import { ENTITIES } from './src/entities';

/** Data source for the TypeORM CLI (`npm run migration:run`); the engine runs migrations at boot. */
export default new DataSource(buildDataSourceOptions(loadConfig(), ENTITIES));
