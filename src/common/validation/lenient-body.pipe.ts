import { type ArgumentMetadata, type PipeTransform, type Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { createValidationPipe } from '../http/validation.pipe';

/**
 * A DTO's validation for a client that sends more than the DTO knows (the OpenKore plugin in
 * the field): fields the DTO does not declare are dropped instead of refused; the declared
 * ones are validated exactly as everywhere else (same pipe, same errors).
 *
 * Use it on a parameter whose TypeScript type is not the DTO class itself (e.g.
 * `Readonly<Dto>`), so the global pipe, which refuses unknown fields, leaves the body to it.
 */
export class LenientBodyPipe<T extends object> implements PipeTransform<unknown, Promise<T>> {
  private readonly strict = createValidationPipe();
  private readonly known: ReadonlySet<string>;

  constructor(private readonly dto: Type<T>) {
    this.known = new Set(getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false).map((m) => m.propertyName));
  }

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<T> {
    let picked = value;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      picked = Object.fromEntries(Object.entries(value).filter(([key]) => this.known.has(key)));
    }
    return (await this.strict.transform(picked, { ...metadata, type: 'body', metatype: this.dto })) as T;
  }
}
