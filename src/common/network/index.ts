export {
  HttpConnectionPool,
  type HttpPoolOptions,
  type HttpPoolStats,
  type PoolRequest,
  type PoolResponse,
  UpstreamAbortedError,
  UpstreamError,
  UpstreamTimeoutError,
} from './http-pool';
