import type { Harness } from '../harness';
import { workflowIdForContact } from '../../../src/workflows/definitions';

/** What bad input must not change: every table's rows, the task queue's runs, the open conversation's history. */

export interface Snapshot {
  tables: Record<string, { rows: number; digest: string }>;
  /** Every run on the harness's task queue: id, run id and status. */
  workflows: string[];
  /** Events in the open conversation's history: any signal or update would add some. */
  openHistory: number;
}

async function tableState(h: Harness): Promise<Snapshot['tables']> {
  const { rows: tables } = await h.db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'migrations' ORDER BY table_name`,
  );
  const state: Snapshot['tables'] = {};
  for (const { name } of tables) {
    // api_keys.last_used_at moves with every request (an UPDATE, by design): the rest of the row must not.
    const row = name === 'api_keys' ? `to_jsonb(t) - 'last_used_at'` : 'to_jsonb(t)';
    const { rows } = await h.db.query<{ rows: number; digest: string }>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS digest FROM (SELECT (${row})::text AS r FROM "${name}" t) s`,
    );
    state[name] = rows[0]!;
  }
  return state;
}

export async function workflowsOnQueue(h: Harness): Promise<string[]> {
  const found: string[] = [];
  for await (const run of h.client.workflow.list({ query: `TaskQueue="${h.taskQueue}"` })) found.push(`${run.workflowId} ${run.runId} ${run.status.name}`);
  return found.sort();
}

export async function historyLength(h: Harness, contactId: string): Promise<number> {
  const history = await h.client.workflow.getHandle(workflowIdForContact(contactId)).fetchHistory();
  return history.events?.length ?? 0;
}

export async function snapshot(h: Harness, openContact: string): Promise<Snapshot> {
  return { tables: await tableState(h), workflows: await workflowsOnQueue(h), openHistory: await historyLength(h, openContact) };
}

export function differences(before: Snapshot['tables'], after: Snapshot['tables']): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.flatMap((name) => {
    const [was, is] = [before[name], after[name]];
    if (was?.rows === is?.rows && was?.digest === is?.digest) return [];
    return [`${name}: ${was?.rows ?? 'absent'} → ${is?.rows ?? 'absent'} rows${was?.rows === is?.rows ? ' (same count, content changed)' : ''}`];
  });
}
