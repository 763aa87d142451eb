import { InvalidRequestError, NotFoundError } from '../../common/errors/app.error';
import type { HealthService } from '../health';
import type { GameStateLike } from './features';
import type { GameStateReader } from './game-state-reader';
import { ACTION_TYPES, CLASS_COUNT, FEATURE_COUNT } from './ml.constants';
import { MlService, toPrediction } from './ml.service';
import type { ModelManager } from './model-manager.service';
import type { TrainerService } from './trainer.service';
import type { TrainingDataService } from './training-data.service';

function makeService(reader?: GameStateReader) {
  const calls: Float32Array[] = [];
  const probs = new Float32Array(CLASS_COUNT).fill(0.01);
  probs[ACTION_TYPES.indexOf('SIT')] = 1 - 0.01 * (CLASS_COUNT - 1);
  const models = {
    available: true,
    version: 4,
    infer: jest.fn(async (row: Float32Array) => {
      calls.push(row);
      return { probabilities: probs, version: 4 };
    }),
  } as unknown as ModelManager;
  const recorded: string[] = [];
  const trainingData = {
    record: jest.fn((_s: unknown, source: string) => (recorded.push(source), 'accepted')),
    stats: () => ({ size: recorded.length }),
  } as unknown as TrainingDataService;
  const engines = new Map<string, () => unknown>();
  const health = { registerDecisionEngine: (name: string, fn: () => unknown) => engines.set(name, fn) } as unknown as HealthService;
  const service = new MlService(models, trainingData, {} as TrainerService, health, reader);
  service.onModuleInit();
  return { service, calls, recorded, engines };
}

const state: GameStateLike = { character: { hp: 50, max_hp: 100, sp: 10, max_sp: 100, level: 10 }, timestamp_ms: 0 };

describe('MlService', () => {
  it('predicts from 28 features and names the serving version', async () => {
    const { service, calls, engines } = makeService();
    const p = await service.predict(new Array<number>(FEATURE_COUNT).fill(0.5));
    expect(p).toMatchObject({ action_type: 'SIT', model_version: 4 });
    expect(p.confidence).toBeCloseTo(0.86, 5);
    expect(calls[0]).toHaveLength(FEATURE_COUNT);
    expect(engines.has('ml')).toBe(true);
    expect(service.available).toBe(true);
  });

  it('refuses malformed feature vectors', async () => {
    const { service } = makeService();
    await expect(service.predict([1, 2, 3])).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(service.predict(new Array<number>(FEATURE_COUNT).fill(1e39))).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('predicts for a session from the injected state reader, 404 otherwise', async () => {
    const reader: GameStateReader = { current: (id) => (id === 'known' ? state : undefined) };
    const injected = makeService(reader);
    const p = await injected.service.predictForSession('known');
    expect(p.features[0]).toBeCloseTo(0.5);
    expect(p.model_version).toBe(4);
    await expect(injected.service.predictForSession('unknown')).rejects.toBeInstanceOf(NotFoundError);

    const none = makeService();
    await expect(none.service.predictForSession('known')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('feeds outcomes to the training buffer as feedback, API samples as api', () => {
    const { service, recorded } = makeService();
    expect(service.recordOutcome({ features: new Array<number>(FEATURE_COUNT).fill(0), action: 'ATTACK', success: true })).toBe(true);
    expect(service.recordSamples([{ features: [], action: 'ATTACK', success: true }])).toMatchObject({ accepted: 1, buffer_size: 2 });
    expect(recorded).toEqual(['feedback', 'api']);
  });

  it('toPrediction takes the most probable action', () => {
    const probs = new Float32Array(2 * CLASS_COUNT);
    probs[CLASS_COUNT + 3] = 1;
    expect(toPrediction(probs, 9, CLASS_COUNT)).toMatchObject({ action_type: ACTION_TYPES[3], confidence: 1, model_version: 9 });
  });
});
