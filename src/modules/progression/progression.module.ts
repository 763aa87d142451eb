import { Module } from '@nestjs/common';
import { HealthModule } from '../health';
import { ProgressionController } from './progression.controller';
import { TablesService } from './tables.service';

/** The data tables (TABLES_DIR) and the field plugin's progression, inventory and self-heal routes. */
@Module({
  imports: [HealthModule],
  controllers: [ProgressionController],
  providers: [TablesService],
  exports: [TablesService],
})
export class ProgressionModule {}
