import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'openkore:isPublic';
/** The route needs no bearer token (health probes). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const RAW_RESPONSE = 'openkore:rawResponse';
/** The route answers in its own flat shape (compatibility routes, health), not the envelope. */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);
