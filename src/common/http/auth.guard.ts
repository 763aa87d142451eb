import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { InvalidTokenError } from '../errors/http.errors';
import { IS_PUBLIC } from './public.decorator';

/** With OPENKORE_AI_TOKEN set, every non-public route needs `Authorization: Bearer <token>`. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly expectedDigest: Buffer | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly reflector: Reflector,
  ) {
    this.expectedDigest = config.token === undefined ? undefined : digest(config.token);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expectedDigest === undefined) return true;
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    assertBearer(context.switchToHttp().getRequest<FastifyRequest>().headers.authorization, this.expectedDigest);
    return true;
  }
}

export function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Throws InvalidTokenError unless `header` is `Bearer <token>` for the token hashed in `expected`. */
export function assertBearer(header: string | undefined, expected: Buffer): void {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new InvalidTokenError('Missing bearer token');
  // Compare fixed-length digests so neither content nor length leaks through timing.
  if (!timingSafeEqual(digest(match[1]), expected)) throw new InvalidTokenError('Invalid bearer token');
}
