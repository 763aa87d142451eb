import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { assertBearer, digest } from '../../common/http/auth.guard';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';

/**
 * `GET /metrics` sits outside `/api/v1` and is marked @Public() so the global AuthGuard lets it
 * through; this guard then applies the token itself unless METRICS_PUBLIC=1. So the endpoint is
 * open to a scraper only when the operator said so, and behaves like any route otherwise.
 */
@Injectable()
export class MetricsAuthGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.expected = config.token === undefined || config.metricsPublic ? undefined : digest(config.token);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expected === undefined) return true;
    assertBearer(context.switchToHttp().getRequest<FastifyRequest>().headers.authorization, this.expected);
    return true;
  }
}
