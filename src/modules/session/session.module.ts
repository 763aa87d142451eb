import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { SESSION_DIRECTORY } from '../../common/ports/session-directory.port';
import { SessionController } from './session.controller';
import { SessionService } from './session.service';
import { SessionLeaseRepository } from './session-lease.repository';
import { SessionOwnership } from './session-ownership.service';

/** The ownership service itself; `SessionOwnership` resolves to it only with SESSION_LEASES=1. */
const SESSION_OWNERSHIP_INSTANCE = Symbol('SessionOwnershipInstance');

@Module({
  controllers: [SessionController],
  // The HTTP pipeline's session guard finds a request's session through this port.
  providers: [
    SessionService,
    SessionLeaseRepository,
    { provide: SESSION_OWNERSHIP_INSTANCE, useClass: SessionOwnership },
    // null without SESSION_LEASES: the session and state services then serve every session
    // here with no lease and no fence, as a single engine needs.
    {
      provide: SessionOwnership,
      useFactory: (config: AppConfig, ownership: SessionOwnership) => (config.sessionLeases ? ownership : null),
      inject: [APP_CONFIG, SESSION_OWNERSHIP_INSTANCE],
    },
    { provide: SESSION_DIRECTORY, useExisting: SessionService },
  ],
  exports: [SessionService, SessionOwnership, SessionLeaseRepository, SESSION_DIRECTORY],
})
export class SessionModule {}
