import { Module } from '@nestjs/common';
import { SESSION_DIRECTORY } from '../../common/ports/session-directory.port';
import { SessionController } from './session.controller';
import { SessionService } from './session.service';

@Module({
  controllers: [SessionController],
  // The HTTP pipeline's session guard finds a request's session through this port.
  providers: [SessionService, { provide: SESSION_DIRECTORY, useExisting: SessionService }],
  exports: [SessionService, SESSION_DIRECTORY],
})
export class SessionModule {}
