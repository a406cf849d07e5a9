import type { Agent } from '../../db/agents';

/** Values the routes' examples share. */
export const RUN_ID = '0199b2c4-6f0e-7c1d-9a3b-4e5f6a7b8c9d';
export const AT = '2025-06-03T09:15:02.481Z';

export const AGENT_ALEX: Agent = {
  id: 'alex',
  name: 'Alex Account-Manager',
  team: 'account-managers',
  role: 'agent',
  online: true,
  capacity: 5,
  openConversations: 0,
  lastAssignedAt: null,
  email: 'alex@example.com',
  respondioUserId: null,
  removedAt: null,
};
