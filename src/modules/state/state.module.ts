import { Module } from '@nestjs/common';
import { GAME_STATE_READER, type GameStateReader } from '../../common/ports/game-state-reader.port';
import { SessionModule } from '../session/session.module';
import { StateController } from './state.controller';
import { StateService } from './state.service';

@Module({
  imports: [SessionModule],
  controllers: [StateController],
  providers: [
    StateService,
    {
      provide: GAME_STATE_READER,
      useFactory: (state: StateService): GameStateReader => ({ current: (id) => state.current(id)?.state }),
      inject: [StateService],
    },
  ],
  exports: [StateService, GAME_STATE_READER],
})
export class StateModule {}
