/**
 * `npm run train [-- options]`: the ML trainer offline.
 *
 *   --default                 regenerate MODEL_DIR/default.onnx from the documented synthetic
 *                             dataset (src/modules/ml/synthetic-data.ts); deterministic
 *   --promote better|always|never   default ML_AUTO_PROMOTE
 *   --epochs N  --batch-size N  --learning-rate X  --l2 X  --validation-split X  --seed N
 *   --max-samples N
 *
 * Without --default it does what POST /api/v1/ml/train does, against the same DATA_DIR and
 * MODEL_DIR (environment as for the engine): under the cross-process `training_in_progress`
 * flag (exit 3 if another process is training), train on `training_data` in a worker thread,
 * score against the registry's active model, stage and promote per policy. A promotion here is
 * recorded in `model_registry`; an engine that is already running keeps serving its model until
 * it restarts, or until it is told to stage and promote the printed `model_path`.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import * as path from 'node:path';
import { AppModule } from '../src/app.module';
import { createRootLogger, PinoNestLogger } from '../src/common/logging/logger';
import { loadConfig } from '../src/config/app-config';
import { DEFAULT_MODEL_FILE } from '../src/modules/ml';
import { TrainingBusyError } from '../src/modules/ml';
import { writeFileAtomic } from '../src/modules/ml';
import { sha256 } from '../src/modules/ml';
import { buildDefaultModel, DEFAULT_DATASET_SEED, DEFAULT_DATASET_SIZE } from '../src/modules/ml';
import { type PromotePolicy, type TrainRequest, TrainerService } from '../src/modules/ml';

function parseArgs(argv: string[]): { generateDefault: boolean; request: TrainRequest } {
  const request: TrainRequest = {};
  let generateDefault = false;
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--default':
        generateDefault = true;
        break;
      case '--promote': {
        const v = argv[++i];
        if (v !== 'better' && v !== 'always' && v !== 'never') throw new Error('--promote takes better|always|never');
        request.promote = v as PromotePolicy;
        break;
      }
      case '--epochs':
        request.epochs = num(a, argv[++i]);
        break;
      case '--batch-size':
        request.batch_size = num(a, argv[++i]);
        break;
      case '--learning-rate':
        request.learning_rate = num(a, argv[++i]);
        break;
      case '--l2':
        request.l2 = num(a, argv[++i]);
        break;
      case '--validation-split':
        request.validation_split = num(a, argv[++i]);
        break;
      case '--seed':
        request.seed = num(a, argv[++i]);
        break;
      case '--max-samples':
        request.max_samples = num(a, argv[++i]);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return { generateDefault, request };
}

async function main(): Promise<number> {
  const { generateDefault, request } = parseArgs(process.argv.slice(2));
  const config = loadConfig();
  if (generateDefault) {
    const started = Date.now();
    const { bytes, metrics } = buildDefaultModel();
    const file = path.join(config.modelDir, DEFAULT_MODEL_FILE);
    await writeFileAtomic(file, bytes);
    console.log(
      JSON.stringify(
        {
          model_path: file,
          sha256: sha256(bytes),
          size_bytes: bytes.byteLength,
          dataset: { seed: DEFAULT_DATASET_SEED, size: DEFAULT_DATASET_SIZE },
          metrics,
          ms: Date.now() - started,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: new PinoNestLogger(createRootLogger(config.logLevel)),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  try {
    const report = await app.get(TrainerService).train(request);
    console.log(JSON.stringify(report, null, 2));
    return 0;
  } catch (err) {
    if (err instanceof TrainingBusyError) {
      console.error(err.message);
      return 3;
    }
    throw err;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
