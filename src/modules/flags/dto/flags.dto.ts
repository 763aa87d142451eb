import { ApiProperty } from '@nestjs/swagger';

export class FlagViewDto {
  @ApiProperty({ example: 'pdca_running' }) name: string;
  @ApiProperty({ description: 'Held now: an owner with a lease that has not expired' }) held: boolean;
  @ApiProperty({ nullable: true, type: String, example: 'host:4242:1a2b3c4d5e6f', description: 'host:pid:instance of the holder' })
  owner: string | null;
  @ApiProperty({ description: 'Fencing token: grows with every acquisition' }) token: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) acquired_at: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) expires_at: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) heartbeat_at: string | null;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

export class CounterViewDto {
  @ApiProperty({ example: 'model_version' }) name: string;
  @ApiProperty() value: number;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

export class FlagsReportDto {
  @ApiProperty({ description: 'This process’s owner id' }) owner_id: string;
  @ApiProperty({ type: [FlagViewDto] }) flags: FlagViewDto[];
  @ApiProperty({ type: [CounterViewDto] }) counters: CounterViewDto[];
}
