import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { InvalidRequestError } from '../../common/errors/app.error';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { PublishedRead } from '../../common/http/session-scope.decorator';
import { PredictDto, PredictionDto, PromoteModelDto, RegistryQueryDto, SamplesDto, StageModelDto, TrainDto } from './dto/ml.dto';
import { type MlStatusView, MlService, type Prediction, type SamplesResult } from './ml.service';
import { ModelManager, type PromotionResult, type StagedModelInfo } from './model-manager.service';
import type { RegistryRow } from './model-registry';
import { type TrainReport, TrainerService } from './trainer.service';
import { TrainingDataService } from './training-data.service';

@ApiTags('ml')
@ApiBearerAuth()
@Controller('api/v1/ml')
export class MlController {
  constructor(
    private readonly ml: MlService,
    private readonly models: ModelManager,
    private readonly trainer: TrainerService,
    private readonly trainingData: TrainingDataService,
  ) {}

  @Post('predict')
  @HttpCode(200)
  // Reads the session's published state (and the model under its read lock): no session turn.
  @PublishedRead()
  @ApiOperation({ summary: 'Action probabilities from 28 features or from a session’s current state (MODEL read lock)' })
  @ApiOkResponse({ type: PredictionDto, description: 'Success envelope; `data` is shown' })
  @ApiErrors(404)
  predict(@Body() dto: PredictDto): Promise<Prediction> {
    if ((dto.features === undefined) === (dto.session_id === undefined)) {
      throw new InvalidRequestError('Give exactly one of features or session_id');
    }
    return dto.features ? this.ml.predict(dto.features) : this.ml.predictForSession(dto.session_id!);
  }

  @Get('model')
  @ApiOperation({ summary: 'Active and staged model: version, metadata, inference counts, training buffer and training status' })
  @ApiOkResponse({ description: 'Success envelope' })
  @ApiErrors()
  model(): MlStatusView {
    return this.ml.status();
  }

  @Get('model/registry')
  @ApiOperation({ summary: 'model_registry rows, newest first (every version: path, sha256, status, metrics)' })
  @ApiOkResponse({ description: 'Success envelope' })
  @ApiErrors()
  registry(@Query() query: RegistryQueryDto): Promise<RegistryRow[]> {
    return this.models.registryRows(query.limit ?? 50);
  }

  @Post('model/stage')
  @HttpCode(200)
  @ApiOperation({ summary: 'Load and validate a model of MODEL_DIR into staging (no lock held); 422 if it breaks the contract' })
  @ApiOkResponse({ description: 'Success envelope with the staged model' })
  @ApiErrors(404, 422)
  stage(@Body() dto: StageModelDto): Promise<StagedModelInfo> {
    return this.models.stage(dto.model_path);
  }

  @Post('model/promote')
  @HttpCode(200)
  @ApiOperation({ summary: 'Swap the staged model in under the MODEL write lock (bounded wait); the version goes up by one' })
  @ApiOkResponse({ description: 'Success envelope with the new version' })
  @ApiErrors(404, 409)
  promote(@Body() dto: PromoteModelDto): Promise<PromotionResult> {
    return this.models.promote({ stagingId: dto.staging_id, timeoutMs: dto.timeout_ms });
  }

  @Post('samples')
  @HttpCode(202)
  @ApiOperation({ summary: 'Buffer training samples (written in batches); a full buffer drops and counts, never waits' })
  @ApiResponse({ status: 202, description: 'Success envelope: accepted / dropped / rejected counts' })
  @ApiErrors()
  samples(@Body() dto: SamplesDto): SamplesResult {
    return this.ml.recordSamples(dto.samples);
  }

  @Post('samples/flush')
  @HttpCode(200)
  @ApiOperation({ summary: 'Write the buffered training samples now' })
  @ApiOkResponse({ description: 'Success envelope: whether everything was written, and the buffer counters' })
  @ApiErrors()
  async flush(): Promise<{ complete: boolean } & ReturnType<TrainingDataService['stats']>> {
    const complete = await this.trainingData.flush();
    return { complete, ...this.trainingData.stats() };
  }

  @Post('train')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Train on training_data in a worker thread (flag training_in_progress), stage the model, promote it per policy',
  })
  @ApiOkResponse({ description: 'Success envelope with the training report' })
  @ApiErrors(409, 422)
  train(@Body() dto: TrainDto): Promise<TrainReport> {
    return this.trainer.train(dto);
  }
}
