import { type CallHandler, type CanActivate, type ExecutionContext, ForbiddenException, Injectable, Module, type NestInterceptor } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { finalize, from, mergeMap, type Observable, of } from 'rxjs';
import { RequestRun } from '../../src/common/http/request-run';

interface SeenRequest {
  method: string;
  url: string;
  session: string | undefined;
}

/** The header a test tags each request of one bot with: the overlap count is kept per bot, whatever the pipeline decided. */
export const BOT_HEADER = 'x-test-bot';

/**
 * Server-side evidence from a test-only global guard and interceptor, registered the Nest way
 * (APP_GUARD / APP_INTERCEPTOR in a module of their own), as a future global enhancer would be.
 */
@Injectable()
export class PipelineProbe {
  /** Every request the global interceptor saw, in order. */
  readonly seen: SeenRequest[] = [];
  /** Handlers (interceptor spans) of each bot (BOT_HEADER) running right now, and the most ever at once. */
  private readonly running = new Map<string, number>();
  readonly maxConcurrent = new Map<string, number>();
  /** Requests the global guard saw. */
  guarded = 0;

  enter(bot: string): void {
    const n = (this.running.get(bot) ?? 0) + 1;
    this.running.set(bot, n);
    this.maxConcurrent.set(bot, Math.max(n, this.maxConcurrent.get(bot) ?? 0));
  }

  leave(bot: string): void {
    this.running.set(bot, (this.running.get(bot) ?? 1) - 1);
  }

  seenFor(url: string): SeenRequest[] {
    return this.seen.filter((s) => s.url === url);
  }
}

/** A global guard: refuses a request carrying `x-test-deny`, counts the others. */
@Injectable()
class ProbeGuard implements CanActivate {
  constructor(private readonly probe: PipelineProbe) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> | Observable<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    if (request.headers['x-test-deny'] !== undefined) throw new ForbiddenException('denied by the test guard');
    // A guard may answer later: a promise (after a loop turn) or an Observable, either way.
    const answer = request.headers['x-test-answer'];
    if (answer === 'refuse-later') return new Promise((resolve) => setImmediate(() => resolve(false)));
    if (answer === 'refuse-observable') return of(false);
    this.probe.guarded += 1;
    if (answer === 'allow-later') return new Promise((resolve) => setImmediate(() => resolve(true)));
    return true;
  }
}

/**
 * A global interceptor: records each request with the session the pipeline serialized it
 * under, and counts the handlers in flight of each bot the test tagged (BOT_HEADER). It yields
 * to the event loop before and after the handler, so that two handlers of one bot that were not
 * serialized would be seen overlapping.
 */
@Injectable()
class ProbeInterceptor implements NestInterceptor {
  constructor(private readonly probe: PipelineProbe) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<{ method: string; url: string; headers: Record<string, string | undefined> }>();
    const session = RequestRun.of(request)?.sessionId;
    this.probe.seen.push({ method: request.method, url: request.url, session });
    const bot = request.headers[BOT_HEADER];
    if (bot === undefined) return next.handle();
    this.probe.enter(bot);
    const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
    return from(yieldToLoop()).pipe(
      mergeMap(() => next.handle()),
      mergeMap(async (value) => {
        await yieldToLoop();
        return value;
      }),
      finalize(() => this.probe.leave(bot)),
    );
  }
}

@Module({
  providers: [PipelineProbe, { provide: APP_GUARD, useClass: ProbeGuard }, { provide: APP_INTERCEPTOR, useClass: ProbeInterceptor }],
})
export class PipelineProbeModule {}

/** The same global guard without the interceptor: a route with only guards and pipes keeps the composed executor. */
@Module({
  providers: [PipelineProbe, { provide: APP_GUARD, useClass: ProbeGuard }],
})
export class PipelineGuardProbeModule {}
