import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { InvalidRequestError, VersionConflictError } from '../errors/app.error';
import { MethodNotAllowedError, RateLimitError } from '../errors/http.errors';
import { StorageFullError } from '../errors/storage.errors';
import { errorReply, mapError } from './all-exceptions.filter';

describe('mapError', () => {
  it('maps app errors by their own code and status', () => {
    expect(mapError(new VersionConflictError('stale'))).toMatchObject({ status: 409, code: 'VERSION_CONFLICT', message: 'stale' });
    expect(mapError(new InvalidRequestError('bad', { f: 1 }))).toMatchObject({ status: 400, code: 'INVALID_REQUEST', details: { f: 1 } });
    expect(mapError(new RateLimitError('slow down', 3))).toMatchObject({ status: 429, code: 'RATE_LIMIT', retryAfterSeconds: 3 });
  });

  it('maps Nest HTTP exceptions by status', () => {
    expect(mapError(new NotFoundException())).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(mapError(new BadRequestException(['a', 'b']))).toMatchObject({ status: 400, code: 'INVALID_REQUEST', message: 'a; b' });
  });

  it('maps Fastify client errors by statusCode and hides everything else behind INTERNAL_ERROR', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(mapError(tooLarge)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', details: { reason: 'FST_ERR_CTP_BODY_TOO_LARGE' } });
    // As Nest hands them to the filter: wrapped, the Fastify code kept as the reason.
    const wrapped = new HttpException(tooLarge.message, 413, { cause: tooLarge });
    expect(mapError(wrapped)).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE', message: tooLarge.message, details: { reason: 'FST_ERR_CTP_BODY_TOO_LARGE' } });
    const internal = mapError(new TypeError('secret detail'));
    expect(internal).toEqual({ status: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' });
    const fake5xx = Object.assign(new Error('db exploded'), { statusCode: 502 });
    expect(mapError(fake5xx).code).toBe('INTERNAL_ERROR');
  });

  it('gives the errors Fastify raises before any route a stable code of their own', () => {
    const uriTooLong = Object.assign(new Error("'/x' is exceeding the max param length"), { statusCode: 414, code: 'FST_ERR_MAX_PARAM_LENGTH' });
    expect(mapError(uriTooLong)).toMatchObject({ status: 414, code: 'URI_TOO_LONG', details: { reason: 'FST_ERR_MAX_PARAM_LENGTH' } });
    const badUrl = Object.assign(new Error("'/%zz' is not a valid url component"), { statusCode: 400, code: 'FST_ERR_BAD_URL' });
    expect(mapError(badUrl)).toMatchObject({ status: 400, code: 'INVALID_REQUEST', details: { reason: 'FST_ERR_BAD_URL' } });
  });

  it('answers 405 with the methods the path has in Allow', () => {
    const reply = errorReply(new MethodNotAllowedError('DELETE', '/api/v1/decide', ['POST']), 'rid', '/api/v1/decide');
    expect(reply.status).toBe(405);
    expect(reply.headers).toEqual({ 'x-request-id': 'rid', allow: 'POST' });
    expect(reply.body).toMatchObject({ status: 'error', error: { code: 'METHOD_NOT_ALLOWED' }, metadata: { request_id: 'rid' } });
  });

  it('maps a full disk to 503 STORAGE_FULL with Retry-After, never 500, however it arrives', () => {
    expect(mapError(new StorageFullError())).toMatchObject({ status: 503, code: 'STORAGE_FULL', retryAfterSeconds: 30 });
    // Raw errors from a path that did not convert them: SQLite's code, the OS's errno codes.
    const sqlite = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    const quota = Object.assign(new Error('EDQUOT: disk quota exceeded'), { code: 'EDQUOT' });
    for (const err of [sqlite, enospc, quota]) {
      expect(mapError(err)).toMatchObject({ status: 503, code: 'STORAGE_FULL', retryAfterSeconds: 30 });
    }
    // Other I/O errors are not a full disk.
    expect(mapError(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' })).code).toBe('INTERNAL_ERROR');
  });
});
