import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

export class ErrorBodyDto {
  @ApiProperty({ example: 'INVALID_REQUEST' }) code: string;
  @ApiProperty() message: string;
  @ApiPropertyOptional({ type: Object }) details?: unknown;
}

export class ErrorMetadataDto {
  @ApiProperty() timestamp: string;
  @ApiProperty() request_id: string;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ example: 'error' }) status: string;
  @ApiProperty({ type: ErrorBodyDto }) error: ErrorBodyDto;
  @ApiProperty({ type: ErrorMetadataDto }) metadata: ErrorMetadataDto;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'INVALID_REQUEST: the body, a parameter or the query is invalid',
  401: 'INVALID_TOKEN: bearer token missing or wrong (when OPENKORE_AI_TOKEN is set)',
  404: 'NOT_FOUND',
  409: 'VERSION_CONFLICT, BUSY, or SESSION_ELSEWHERE: the bot\'s session is served by another engine instance (details: instance_id, advertised_url)',
  413: 'PAYLOAD_TOO_LARGE: body over 1 MiB',
  415: 'UNSUPPORTED_MEDIA_TYPE: only application/json bodies are accepted',
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMIT or QUEUE_FULL (see Retry-After)',
  503: 'LOCK_TIMEOUT, DEADLOCK, SERVICE_UNAVAILABLE or STORAGE_FULL (no disk space for the write; see Retry-After)',
};

/** Documents the error envelope for the given statuses (plus the ones every route can give). */
export function ApiErrors(...statuses: number[]) {
  // 409 SESSION_ELSEWHERE: any route of a bot's session, when another instance serves it (docs/cluster.md).
  const all = new Set([400, 401, 409, 429, 503, ...statuses]);
  return applyDecorators(
    ...[...all].sort().map((status) => ApiResponse({ status, description: DESCRIPTIONS[status], type: ErrorEnvelopeDto })),
  );
}
