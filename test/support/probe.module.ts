import { Body, Controller, HttpCode, Injectable, Module, Post, Req } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

export class ProbeDto {
  @IsString() session_id: string;
  @IsOptional() @IsInt() @Min(0) @Max(1000) delay_ms?: number;
  @IsOptional() @IsString() gate?: string;
  @IsOptional() @IsInt() seq?: number;
}

export interface ProbeRecord {
  session: string;
  seq: number;
  /** Order in which the server had the whole request (body parsed), from a preValidation hook. */
  arrival: number;
  startedAt: number;
  endedAt: number;
  /** Handlers of the same session running when this one started (must be 0). */
  overlapping: number;
}

/** Server-side evidence of what the handlers did, read by the tests in the same process. */
@Injectable()
export class ProbeRecorder {
  readonly records: ProbeRecord[] = [];
  readonly started: string[] = [];
  private readonly running = new Map<string, number>();
  private readonly gates = new Map<string, { promise: Promise<void>; open: () => void }>();

  gate(name: string): Promise<void> {
    let g = this.gates.get(name);
    if (!g) {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      g = { promise, open };
      this.gates.set(name, g);
    }
    return g.promise;
  }

  open(name: string): void {
    void this.gate(name);
    this.gates.get(name)!.open();
  }

  enter(session: string): number {
    const n = this.running.get(session) ?? 0;
    this.running.set(session, n + 1);
    return n;
  }

  leave(session: string): void {
    this.running.set(session, (this.running.get(session) ?? 1) - 1);
  }
}

@Controller('test')
class ProbeController {
  constructor(private readonly recorder: ProbeRecorder) {}

  @Post('serial')
  @HttpCode(200)
  async serial(@Body() dto: ProbeDto, @Req() req: FastifyRequest & { arrival?: number }): Promise<{ seq: number | null; ran: number }> {
    const startedAt = performance.now();
    const overlapping = this.recorder.enter(dto.session_id);
    this.recorder.started.push(`${dto.session_id}:${dto.seq ?? ''}`);
    const ran = this.recorder.started.length;
    try {
      if (dto.gate) await this.recorder.gate(dto.gate);
      // Yield to the event loop so that, were serialization broken, handlers would interleave.
      if (dto.delay_ms) await new Promise((r) => setTimeout(r, dto.delay_ms));
      else await new Promise((r) => setImmediate(r));
    } finally {
      this.recorder.leave(dto.session_id);
    }
    this.recorder.records.push({ session: dto.session_id, seq: dto.seq ?? -1, arrival: req.arrival ?? -1, startedAt, endedAt: performance.now(), overlapping });
    return { seq: dto.seq ?? null, ran };
  }
}

/** Test-only routes mounted behind the engine's real guards (auth, session turn, validation). */
@Module({ controllers: [ProbeController], providers: [ProbeRecorder] })
export class ProbeModule {}

/** Numbers requests in the order their bodies are parsed: the arrival order the guard sees. */
export function numberArrivals(app: NestFastifyApplication): void {
  let arrivals = 0;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preValidation', (req: FastifyRequest & { arrival?: number }, _reply: unknown, done: () => void) => {
      req.arrival = ++arrivals;
      done();
    });
}
