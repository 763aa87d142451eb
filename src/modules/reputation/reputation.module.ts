import { Module } from '@nestjs/common';
import { SessionModule } from '../session';
import { ReputationController } from './reputation.controller';
import { ReputationRepository } from './reputation.repository';
import { ReputationService } from './reputation.service';
import { SocialCompatController } from './social-compat.controller';
import { InteractionHistoryRetention } from './interaction-history.retention';

/** Player reputation, interaction history and the plugin's social routes. */
@Module({
  imports: [SessionModule],
  controllers: [ReputationController, SocialCompatController],
  providers: [ReputationService, ReputationRepository, InteractionHistoryRetention],
  exports: [ReputationService],
})
export class ReputationModule {}
