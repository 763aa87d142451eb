import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { ACTION_TYPES, FEATURE_COUNT, FEATURE_NAMES } from '../ml.constants';

const FEATURES_DOC = `${FEATURE_COUNT} finite numbers in this order: ${FEATURE_NAMES.join(', ')}`;
const finiteNumber = { allowNaN: false, allowInfinity: false } as const;

export class PredictDto {
  @ApiPropertyOptional({ type: [Number], minItems: FEATURE_COUNT, maxItems: FEATURE_COUNT, description: `${FEATURES_DOC}. Give either this or session_id.` })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(FEATURE_COUNT)
  @ArrayMaxSize(FEATURE_COUNT)
  @IsNumber(finiteNumber, { each: true })
  features?: number[];

  @ApiPropertyOptional({ description: "Predict from this session's current game state instead of features" })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  session_id?: string;
}

export class PredictionDto {
  @ApiProperty({ enum: ACTION_TYPES }) action_type: string;
  @ApiProperty({ description: 'Probability of action_type' }) confidence: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'Probability per action type' })
  probabilities: Record<string, number>;
  @ApiProperty({ description: 'Version of the model that computed this prediction' }) model_version: number;
  @ApiPropertyOptional({ type: [Number], description: 'The extracted features (session predictions only)' }) features?: number[];
}

export class StageModelDto {
  @ApiProperty({ example: 'trained/model-20250101T000000Z-abc123.onnx', description: 'A .onnx file, relative to MODEL_DIR' })
  @IsString()
  @Length(1, 1024)
  model_path: string;
}

export class PromoteModelDto {
  @ApiPropertyOptional({ description: 'Promote only if this is still the staged model (else 409 VERSION_CONFLICT)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  staging_id?: number;

  @ApiPropertyOptional({ description: 'Bound on the wait for inferences in flight (default ML_PROMOTE_TIMEOUT_MS)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(600_000)
  timeout_ms?: number;
}

export class SampleDto {
  @ApiProperty({ type: [Number], description: FEATURES_DOC })
  @IsArray()
  @ArrayMinSize(FEATURE_COUNT)
  @ArrayMaxSize(FEATURE_COUNT)
  @IsNumber(finiteNumber, { each: true })
  features: number[];

  @ApiProperty({ enum: ACTION_TYPES })
  @IsIn(ACTION_TYPES as readonly string[] as string[])
  action: string;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional()
  @IsNumber(finiteNumber)
  reward?: number;

  @ApiProperty()
  @IsBoolean()
  success: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 36)
  session_id?: string;

  @ApiPropertyOptional({ description: 'Version of the model whose prediction led to the action' })
  @IsOptional()
  @IsInt()
  @Min(0)
  model_version?: number;

  @ApiPropertyOptional({ description: 'Epoch ms; default now' })
  @IsOptional()
  @IsInt()
  @Min(0)
  timestamp_ms?: number;
}

export class SamplesDto {
  @ApiProperty({ type: [SampleDto], minItems: 1, maxItems: 1000 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => SampleDto)
  samples: SampleDto[];
}

export class TrainDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  epochs?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 65536 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65536)
  batch_size?: number;

  @ApiPropertyOptional({ minimum: 0.000001, maximum: 10 })
  @IsOptional()
  @IsNumber(finiteNumber)
  @Min(0.000001)
  @Max(10)
  learning_rate?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 10 })
  @IsOptional()
  @IsNumber(finiteNumber)
  @Min(0)
  @Max(10)
  l2?: number;

  @ApiPropertyOptional({ minimum: 0.05, maximum: 0.5, default: 0.2 })
  @IsOptional()
  @IsNumber(finiteNumber)
  @Min(0.05)
  @Max(0.5)
  validation_split?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2 ** 31 - 1)
  seed?: number;

  @ApiPropertyOptional({ description: 'Train on at most this many most recent samples (default ML_TRAIN_MAX_SAMPLES)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  max_samples?: number;

  @ApiPropertyOptional({ enum: ['better', 'always', 'never'], description: 'Default ML_AUTO_PROMOTE' })
  @IsOptional()
  @IsIn(['better', 'always', 'never'])
  promote?: 'better' | 'always' | 'never';
}

export class RegistryQueryDto {
  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
