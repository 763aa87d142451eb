import { Module } from '@nestjs/common';
import { GAME_STATE_READER, type GameStateReader } from '../../common/ports/game-state-reader.port';
import { SessionModule } from '../session';
import { StateController } from './state.controller';
import { StateService } from './state.service';
import { SnapshotRetention } from './snapshot.retention';

@Module({
  imports: [SessionModule],
  controllers: [StateController],
  providers: [
    StateService,
    SnapshotRetention,
    {
      provide: GAME_STATE_READER,
      useFactory: (state: StateService): GameStateReader => ({ current: (id) => state.current(id)?.state }),
      inject: [StateService],
    },
  ],
  exports: [StateService, GAME_STATE_READER],
})
export class StateModule {}
