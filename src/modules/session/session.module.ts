import { Module } from '@nestjs/common';
import { SESSION_DIRECTORY } from '../../common/ports/session-directory.port';
import { SessionController } from './session.controller';
import { SessionService } from './session.service';
import { SessionLeaseRepository } from './session-lease.repository';
import { SessionOwnership } from './session-ownership.service';

@Module({
  controllers: [SessionController],
  // The HTTP pipeline's session guard finds a request's session through this port.
  providers: [SessionService, SessionLeaseRepository, SessionOwnership, { provide: SESSION_DIRECTORY, useExisting: SessionService }],
  exports: [SessionService, SessionOwnership, SessionLeaseRepository, SESSION_DIRECTORY],
})
export class SessionModule {}
