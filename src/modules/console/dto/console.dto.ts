import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Min } from 'class-validator';

export class ConsoleSummaryQueryDto {
  @ApiPropertyOptional({ description: 'Epoch ms: only chart points after it (the `t` of the last point a poller has); absent: every point kept' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  since?: number;
}
