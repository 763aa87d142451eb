import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';
import { RAW_RESPONSE } from './public.decorator';

export interface SuccessEnvelope<T> {
  status: 'success';
  data: T;
  metadata: { timestamp: string; processing_time_ms: number; request_id: string };
}

export function envelope<T>(data: T, request: { readonly id: string }, reply: { readonly elapsedTime: number }): SuccessEnvelope<T | null> {
  return {
    status: 'success',
    data: data ?? null,
    metadata: {
      timestamp: new Date().toISOString(),
      processing_time_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      request_id: String(request.id),
    },
  };
}

/** Wraps handler results in the success envelope unless the route is marked @RawResponse(). */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.getAllAndOverride<boolean | undefined>(RAW_RESPONSE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (raw) return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    return next.handle().pipe(map((data: unknown) => envelope(data, request, reply)));
  }
}
