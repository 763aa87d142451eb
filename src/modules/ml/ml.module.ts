import { Global, Inject, Module, Optional } from '@nestjs/common';
import { METRICS, type MetricsPort, WELL_KNOWN_METRICS } from '../../common/ports/metrics-sources.port';
import { FlagsModule } from '../flags';
import { ML_PREDICTOR } from '../decision';
import { HealthModule, WarmupService } from '../health';
import { StateModule } from '../state';
import { FEATURE_COUNT } from './ml.constants';
import { MlController } from './ml.controller';
import { MlPredictorAdapter } from './ml-predictor.adapter';
import { MlService } from './ml.service';
import { ModelManager } from './model-manager.service';
import { MODEL_REGISTRY, SqlModelRegistry } from './model-registry';
import { TrainerService } from './trainer.service';
import { TrainingDataService } from './training-data.service';
import { TrainingDataRetention } from './training-data.retention';

/**
 * The ML tier (docs/architecture.md §7): active/staging ONNX models with hot swap, predictions, the training
 * data buffer and the trainer. Other modules use MlService (predict, available, recordOutcome).
 */
@Global()
@Module({
  imports: [FlagsModule, HealthModule, StateModule],
  controllers: [MlController],
  providers: [
    { provide: MODEL_REGISTRY, useClass: SqlModelRegistry },
    ModelManager,
    TrainingDataService,
    TrainingDataRetention,
    TrainerService,
    MlService,
    MlPredictorAdapter,
    { provide: ML_PREDICTOR, useExisting: MlPredictorAdapter },
  ],
  exports: [MlService, ML_PREDICTOR],
})
export class MlModule {
  /** Model version, inferences and dropped training samples on GET /metrics, when metrics are loaded. */
  constructor(ml: MlService, warmup: WarmupService, @Optional() @Inject(METRICS) metrics: MetricsPort | null) {
    // ONNX allocates on its first runs: run the active model before the first bot needs it (uncounted).
    warmup.register('ml model', async ({ rounds }) => {
      const features = new Array<number>(FEATURE_COUNT).fill(0);
      for (let i = 0; i < Math.min(rounds, 200); i++) {
        features[i % FEATURE_COUNT] = (i % 10) / 10;
        if (!(await ml.rehearsePredict(features))) return;
      }
    });
    if (!metrics) return;
    metrics.registerGauge(WELL_KNOWN_METRICS.modelVersion, 'Version of the active ONNX model (absent when none)', () => ml.modelVersion);
    metrics.registerCounter(WELL_KNOWN_METRICS.inferences, 'Model inferences since start', () => ml.status().total_inferences);
    metrics.registerCounter(WELL_KNOWN_METRICS.inferenceFailures, 'Failed inferences of the active model', () => ml.status().active?.failed_inferences ?? 0);
    metrics.registerCounter(WELL_KNOWN_METRICS.trainingBufferDropped, 'Training samples dropped because the buffer was full', () => ml.status().training_buffer.dropped);
  }
}
