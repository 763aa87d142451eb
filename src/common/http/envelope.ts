export interface SuccessEnvelope<T> {
  status: 'success';
  data: T;
  metadata: { timestamp: string; processing_time_ms: number; request_id: string };
}

/** The success envelope (docs/architecture.md "Public API") around a handler's result (the pipeline's reply stage). */
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
