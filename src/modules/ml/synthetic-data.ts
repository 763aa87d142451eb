import { extractFeatures, type GameStateLike, type MonsterLike } from './features';
import { type ActionType, actionIndex, CLASS_COUNT, FEATURE_COUNT } from './ml.constants';
import { exportSoftmaxRegressionOnnx } from './onnx-export';
import { createRng, type Dataset, type TrainMetrics, trainSoftmaxRegression } from './softmax-regression';

/**
 * The default model's training set: `DEFAULT_DATASET_SIZE` game states drawn from a seeded
 * PRNG (mulberry32, seed `DEFAULT_DATASET_SEED`), turned into features by `extractFeatures` and
 * labelled by `defaultPolicy`, a hand-written farming policy. The model fitted to it is a
 * sensible starting ML tier — it imitates the policy — until real outcomes retrain it.
 *
 * Game states (all uniform unless noted):
 * - character: level 1–175, job level 1–70, max HP 200–20 000, max SP 20–2 000, zeny
 *   log-uniform 1–10^7, max weight 2 000–20 000; HP, SP and weight ratios uniform in [0, 1]
 *   (weight ratio squared, so most bots are light); 0–3 status effects, 0–5 buffs;
 * - monsters: none with probability 0.35, else 1–8, each level 1–150, distance 1–15 cells,
 *   aggressive with probability 0.3, attacking us with probability 0.6 when within 3 cells;
 * - 0–10 players, 0–5 party members, no ground items with probability 0.6 else 1–4;
 * - map difficulty uniform [0, 1]; session totals, timers and time of day spread over a day.
 *
 * Deterministic: the same code gives the same dataset, and the trainer (seeded too) the same
 * model bytes. `npm run train -- --default` regenerates `MODEL_DIR/default.onnx`.
 */
export const DEFAULT_DATASET_SEED = 20240601;
export const DEFAULT_DATASET_SIZE = 4000;
export const DEFAULT_MODEL_TRAIN_OPTIONS = { epochs: 40, batchSize: 128, learningRate: 0.1, l2: 1e-4, validationSplit: 0.2, seed: 7, patience: 10 } as const;
/** A fixed clock for the time features (2024-06-01T00:00:00Z), advanced per sample. */
const BASE_TIME_MS = 1_717_200_000_000;

/**
 * The labelling rule, first match wins:
 * 1. HP below 25 % with two or more monsters attacking → TELEPORT
 * 2. HP below 40 % → USE_ITEM (potion)
 * 3. weight at 90 % or more → STORAGE_PUT
 * 4. a monster attacking us or within 2 cells → USE_SKILL if SP above 60 %, else ATTACK
 * 5. items on the ground → PICK_ITEM
 * 6. SP below 30 % or HP below 70 % → SIT (rest)
 * 7. monsters in view → MOVE_TO (approach)
 * 8. otherwise → NO_ACTION
 */
export function defaultPolicy(state: GameStateLike): ActionType {
  const c = state.character;
  const hp = c.max_hp > 0 ? c.hp / c.max_hp : 0;
  const sp = c.max_sp > 0 ? c.sp / c.max_sp : 0;
  const weight = c.max_weight ? (c.weight ?? 0) / c.max_weight : 0;
  const monsters = state.monsters ?? [];
  const attacking = monsters.filter((m) => m.is_attacking_me).length;
  const near = monsters.some((m) => (m.distance ?? Infinity) <= 2);
  if (hp < 0.25 && attacking >= 2) return 'TELEPORT';
  if (hp < 0.4) return 'USE_ITEM';
  if (weight >= 0.9) return 'STORAGE_PUT';
  if (attacking > 0 || near) return sp > 0.6 ? 'USE_SKILL' : 'ATTACK';
  if ((state.ground_items?.length ?? 0) > 0) return 'PICK_ITEM';
  if (sp < 0.3 || hp < 0.7) return 'SIT';
  if (monsters.length > 0) return 'MOVE_TO';
  return 'NO_ACTION';
}

function int(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** One synthetic game state (see the module comment for the distributions). */
export function syntheticState(rng: () => number, now: number): GameStateLike {
  const maxHp = int(rng, 200, 20_000);
  const maxSp = int(rng, 20, 2_000);
  const maxWeight = int(rng, 2_000, 20_000);
  const level = int(rng, 1, 175);
  const monsters: MonsterLike[] = [];
  if (rng() >= 0.35) {
    const n = int(rng, 1, 8);
    for (let i = 0; i < n; i++) {
      const distance = int(rng, 1, 15);
      monsters.push({
        level: int(rng, 1, 150),
        distance,
        is_aggressive: rng() < 0.3,
        is_attacking_me: distance <= 3 && rng() < 0.6,
      });
    }
  }
  const sessionStart = now - Math.floor(rng() * 8 * 3_600_000);
  const since = () => (rng() < 0.2 ? undefined : now - Math.floor(rng() * 2 * 3_600_000));
  return {
    character: {
      hp: Math.round(maxHp * rng()),
      max_hp: maxHp,
      sp: Math.round(maxSp * rng()),
      max_sp: maxSp,
      weight: Math.round(maxWeight * rng() ** 2),
      max_weight: maxWeight,
      level,
      job_level: int(rng, 1, 70),
      zeny: Math.floor(10 ** (rng() * 7)),
      status_effects: int(rng, 0, 3),
      buffs: int(rng, 0, 5),
    },
    monsters,
    nearby_players: new Array<unknown>(int(rng, 0, 10)).fill(null),
    party_members: new Array<unknown>(int(rng, 0, 5)).fill(null),
    ground_items: new Array<unknown>(rng() < 0.6 ? 0 : int(rng, 1, 4)).fill(null),
    map_difficulty: rng(),
    combat: {
      damage_received: Math.floor(10 ** (rng() * 6)),
      damage_dealt: Math.floor(10 ** (rng() * 6)),
      kills: Math.floor(10 ** (rng() * 3)),
      time_in_combat_ms: Math.floor((now - sessionStart) * rng()),
    },
    timers: { session_started_ms: sessionStart, last_combat_ms: since(), last_death_ms: since(), last_teleport_ms: since() },
    timestamp_ms: now,
  };
}

/** A labelled synthetic dataset; `label` defaults to `defaultPolicy`. */
export function syntheticDataset(
  size: number,
  seed: number,
  label: (state: GameStateLike, features: Float32Array) => number = (s) => actionIndex(defaultPolicy(s))!,
): Dataset {
  const rng = createRng(seed);
  const features = new Float32Array(size * FEATURE_COUNT);
  const labels = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const now = BASE_TIME_MS + Math.floor(rng() * 86_400_000);
    const state = syntheticState(rng, now);
    const row = extractFeatures(state, { now });
    features.set(row, i * FEATURE_COUNT);
    labels[i] = label(state, row);
  }
  return { features, labels, count: size, featureCount: FEATURE_COUNT };
}

/** Trains the default model on the default synthetic dataset; returns its ONNX bytes and metrics. */
export function buildDefaultModel(): { bytes: Uint8Array; metrics: TrainMetrics } {
  const data = syntheticDataset(DEFAULT_DATASET_SIZE, DEFAULT_DATASET_SEED);
  const { model, metrics } = trainSoftmaxRegression(data, { classCount: CLASS_COUNT, ...DEFAULT_MODEL_TRAIN_OPTIONS });
  const bytes = exportSoftmaxRegressionOnnx(model, {
    docString: 'Default model: softmax regression fitted to the documented synthetic dataset (synthetic-data.ts)',
    metadata: {
      dataset: `synthetic-default seed=${DEFAULT_DATASET_SEED} size=${DEFAULT_DATASET_SIZE}`,
      validation_accuracy: metrics.validation_accuracy.toFixed(4),
    },
  });
  return { bytes, metrics };
}
