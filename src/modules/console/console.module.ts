import { Module } from '@nestjs/common';
import { DecisionModule } from '../decision';
import { MacroModule } from '../macro';
import { MlModule } from '../ml';
import { PdcaModule } from '../pdca';
import { SessionModule } from '../session';
import { StateModule } from '../state';
import { ConsoleController } from './console.controller';
import { ConsoleService } from './console.service';

/**
 * The operator console: its data routes (`/api/v1/console/*`, token-protected like every data
 * route) and the service behind them. The page's static files are registered by the app factory
 * (`registerConsoleAssets`), outside Nest's router.
 */
@Module({
  imports: [SessionModule, StateModule, DecisionModule, MlModule, MacroModule, PdcaModule],
  controllers: [ConsoleController],
  providers: [ConsoleService],
  exports: [ConsoleService],
})
export class ConsoleModule {}
