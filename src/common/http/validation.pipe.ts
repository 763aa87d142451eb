import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { InvalidRequestError } from '../errors/app.error';

function flatten(errors: ValidationError[], parent = ''): Array<{ field: string; errors: string[] }> {
  const out: Array<{ field: string; errors: string[] }> = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    if (e.constraints) out.push({ field, errors: Object.values(e.constraints) });
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** A DTO body must be a JSON object: arrays, strings and null are refused before field checks. */
class EdgeValidationPipe extends ValidationPipe {
  // Not async: a param with no class to validate (the per-tick routes' bodies, checked by their
  // own pipes) is answered at once, as ValidationPipe would, without a promise per request (the
  // value itself, typed as the base class declares: Nest awaits whatever a pipe returns).
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (this.expectedType === undefined && (!metadata.metatype || !this.toValidate(metadata))) {
      return (this.isTransformEnabled ? this.transformPrimitive(value, metadata) : value) as Promise<unknown>;
    }
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object && this.toValidate(metadata)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return Promise.reject(new InvalidRequestError('Request body must be a JSON object'));
      }
    }
    return super.transform(value, metadata);
  }
}

/** Edge validation: whitelisted DTOs, unknown fields refused, failures as INVALID_REQUEST. */
export function createValidationPipe(): ValidationPipe {
  return new EdgeValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      const message = details.length
        ? details.map((d) => `${d.field}: ${d.errors.join(', ')}`).join('; ')
        : 'Invalid request';
      return new InvalidRequestError(message, { fields: details });
    },
  });
}
