export { ConsoleModule } from './console.module';
export { ConsoleService, type BotRow, type ConsoleSummary, type LockRow } from './console.service';
export { ConsoleStreamHub, ConsoleStreamsFullError, MAX_UNREAD_BYTES, formatEvent, type ConsoleStream } from './console-streams';
export { DecisionHistory, type DecisionSample } from './decision-history';
export { registerConsoleAssets, consoleAssetsDir, CONSOLE_PATH } from './console-assets';
