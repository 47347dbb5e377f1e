/** Every chaos scenario, in the order `npm run chaos` runs them. */
import { announceKills } from './announce-kills.js';
import { badCredentials } from './bad-credentials.js';
import { killWorkers } from './kill-workers.js';
import { malformed } from './malformed.js';
import { outage } from './outage.js';
import { rateStorm } from './rate-storm.js';
import { redisRestart } from './redis-restart.js';
import { secrets } from './secret-scan.js';
import type { ChaosScenario } from './support/scenario.js';

export const CHAOS_SCENARIOS: ChaosScenario[] = [
  malformed,
  killWorkers,
  announceKills,
  redisRestart,
  outage,
  rateStorm,
  badCredentials,
  secrets,
];
