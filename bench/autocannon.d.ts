// The subset of autocannon's API the HTTP bench uses (the package ships no types).
declare module 'autocannon' {
  interface Histogram {
    average: number;
    total: number;
    p50: number;
    p99: number;
    max: number;
  }
  interface Result {
    requests: Histogram;
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
    connectionRate?: number;
    setupClient?: (client: { setBody(body: string): void }) => void;
  }
  function autocannon(options: Options): Promise<Result>;
  export = autocannon;
}
