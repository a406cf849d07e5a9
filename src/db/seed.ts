import { countAgents, putAgent } from './agents';
import { putDirectoryCustomer } from './directory';
import type { Db } from './pool';

/** A small demo roster and directory, so a fresh `npm start` routes the README's examples. */
export async function seedDemoDataIfEmpty(db: Db): Promise<boolean> {
  if ((await countAgents(db)) > 0) return false;
  const agents = [
    { id: 'alex', name: 'Alex Account-Manager', team: 'account-managers', role: 'agent' as const },
    { id: 'vera', name: 'Vera VIP', team: 'vip', role: 'agent' as const },
    { id: 'victor', name: 'Victor VIP', team: 'vip', role: 'agent' as const },
    { id: 'sam', name: 'Sam Support', team: 'support', role: 'agent' as const },
    { id: 'sofia', name: 'Sofia Support', team: 'support', role: 'agent' as const },
    { id: 'maria', name: 'Maria Manager', team: 'managers', role: 'manager' as const },
  ];
  for (const agent of agents) await putAgent(db, { ...agent, online: true, capacity: 5 });
  await putDirectoryCustomer(db, { email: 'ana@example.com', customerType: 'VIP', accountManager: 'alex', name: 'Ana Souza' });
  await putDirectoryCustomer(db, { email: 'carla@example.com', customerType: 'VIP', name: 'Carla Diaz' });
  await putDirectoryCustomer(db, { email: 'bob@example.com', customerType: 'Regular', name: 'Bob Stone' });
  return true;
}
