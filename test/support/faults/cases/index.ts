import { apiKills } from './api-kill';
import type { FaultCase } from './case';
import { crmFaults } from './crm-faults';
import { devServerRestart } from './dev-server-kill9';
import { duplicateDeliveries } from './duplicate-delivery';
import { postgresRestart } from './postgres-kill9';
import { racingQueue } from './race-2x2';
import { workerKills } from './worker-sigkill';

/** Every fault case, one file each named by its id, in the order the suite runs them. */
export const ALL_CASES: FaultCase[] = [workerKills, devServerRestart, postgresRestart, crmFaults, apiKills, duplicateDeliveries, racingQueue];
