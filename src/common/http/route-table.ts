import type { PipelineRouteConfig } from './public.decorator';

/** A route's handler as Fastify calls it (for Nest's routes: Nest's guards → interceptors → pipes → handler → filter). */
export type RouteHandler = (this: unknown, request: never, reply: never) => unknown;

/** One registered route: its method, its path pattern, its pipeline config and the handler the pipeline runs. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly config: PipelineRouteConfig;
  readonly handler: RouteHandler;
}

interface PathPattern {
  readonly url: string;
  readonly match: RegExp;
  readonly methods: Set<string>;
}

/** `/api/v1/state/:sessionId` → a RegExp matching its paths (`:param` one segment, `*` the rest). */
function compile(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*$/, '.*');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * Every route the pipeline serves, as registered with Fastify: the front door looks its routes
 * up here, and a path that exists with other methods answers 405 with `Allow` instead of 404.
 */
export class RouteTable {
  private readonly entries: RouteEntry[] = [];
  private readonly patterns = new Map<string, PathPattern>();

  add(entry: RouteEntry): void {
    this.entries.push(entry);
    let pattern = this.patterns.get(entry.url);
    if (!pattern) {
      pattern = { url: entry.url, match: compile(entry.url), methods: new Set() };
      this.patterns.set(entry.url, pattern);
    }
    pattern.methods.add(entry.method);
  }

  all(): readonly RouteEntry[] {
    return this.entries;
  }

  /** The methods registered for a path (query string excluded), sorted; empty for an unknown path. */
  methodsFor(path: string): string[] {
    const methods = new Set<string>();
    for (const pattern of this.patterns.values()) {
      if (pattern.match.test(path)) for (const m of pattern.methods) methods.add(m);
    }
    return [...methods].sort();
  }
}
