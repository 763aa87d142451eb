import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module';
import { StateController } from './state.controller';
import { StateService } from './state.service';

@Module({
  imports: [SessionModule],
  controllers: [StateController],
  providers: [StateService],
  exports: [StateService],
})
export class StateModule {}
