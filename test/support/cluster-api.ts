import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import type { Cluster } from '../../tools/cluster/cluster';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { testCodec } from './codec';

export interface Answer {
  status: number;
  body: any;
}

/** A Temporal client of the cluster: its client certificate, its payload keys. */
export async function clusterClient(cluster: Cluster): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect(cluster.temporal.connection);
  const client = new Client({ connection, namespace: cluster.temporal.apiEnv['TEMPORAL_NAMESPACE'], dataConverter: { payloadCodecs: [testCodec(cluster.codecKeys)] } });
  return { client, close: () => connection.close() };
}

/**
 * The cluster's APIs as a sender uses them: any of them, with the admin key. Every conversation opened and every
 * reply accepted through it is noted in `opened` and `replied`, what `ledger` then checks.
 */
export function clusterApi(cluster: Cluster) {
  const opened: string[] = [];
  const replied: Array<{ contactId: string; messageId: string }> = [];
  const call = async (api: number, method: string, path: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${cluster.apis[api]!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${cluster.adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = { status: response.status, body: (await response.json()) as any };
    if (method === 'POST' && path === '/v1/conversations' && [200, 202].includes(answer.status)) opened.push((body as { contact: { id: string } }).contact.id);
    const reply = method === 'POST' && answer.status === 202 ? /^\/v1\/contacts\/([^/]+)\/messages$/.exec(path) : null;
    if (reply) replied.push({ contactId: decodeURIComponent(reply[1]!), messageId: (body as { messageId: string }).messageId });
    return answer;
  };
  /** Sent again, as a sender does, while the answer is a 503 or the connection drops; the last answer otherwise. */
  const retrying = async (api: number, method: string, path: string, body: unknown, accepted: number[], timeoutMs = 60_000): Promise<Answer> => {
    let last: Answer = { status: 0, body: undefined };
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
      last = await call(api, method, path, body).catch((error: Error) => ({ status: 0, body: error.message }));
      if (accepted.includes(last.status)) return last;
      if (last.status !== 0 && last.status !== 503) break;
      await new Promise((tick) => setTimeout(tick, 1_000));
    }
    assert.fail(`${method} ${path}: ${last.status} ${JSON.stringify(last.body)}`);
  };
  /** Polls the APIs in turn until the conversation is in one of `states`. */
  const settled = async (contactId: string, states: string[], timeoutMs = 60_000): Promise<any> => {
    const deadline = Date.now() + timeoutMs;
    let last: Answer | undefined;
    for (let api = 0; Date.now() < deadline; api = (api + 1) % cluster.apis.length) {
      last = await call(api, 'GET', `/v1/conversations/${contactId}`).catch((error: Error) => ({ status: 0, body: error.message }));
      if (last.status === 200 && states.includes(last.body.state)) return last.body;
      await new Promise((tick) => setTimeout(tick, 250));
    }
    assert.fail(`${contactId} did not reach ${states.join(' or ')}: ${JSON.stringify(last)}`);
  };
  const stateOf = (contactId: string, state: string, timeoutMs?: number): Promise<any> => settled(contactId, [state], timeoutMs);
  return { call, retrying, settled, stateOf, opened, replied };
}

export interface Ledger {
  conversations: number;
  runs: number;
  assigned: number;
  queued: number;
  /** Conversations without a run, or messages accepted that are not in the transcript. */
  lost: string[];
  /** Two runs for one conversation, two open assignments, a message recorded twice, an agent past capacity. */
  duplicated: string[];
  /** The run's state and PostgreSQL's rows disagree. */
  disagreeing: string[];
}

/**
 * Everything the cluster holds about `contacts`, checked against itself: one Temporal run per conversation, the
 * run's state matching the assignment and queue rows, every accepted message once in the transcript, nobody past
 * their capacity.
 */
export async function ledger(cluster: Cluster, contacts: string[], acceptedMessages: Array<{ contactId: string; messageId: string }>): Promise<Ledger> {
  const { client, close } = await clusterClient(cluster);
  const db = new pg.Pool({ connectionString: cluster.databaseUrl, max: 2 });
  try {
    const runs = new Map<string, number>();
    for await (const execution of client.workflow.list({ query: `WorkflowType = 'routeConversation'` })) runs.set(execution.workflowId, (runs.get(execution.workflowId) ?? 0) + 1);
    const rows = async (sql: string, values: unknown[] = []) => (await db.query(sql, values)).rows as any[];
    const open = await rows(`SELECT contact_id, agent_id FROM assignments WHERE released_at IS NULL AND contact_id = ANY($1)`, [contacts]);
    const queued = await rows(`SELECT contact_id FROM queue_entries WHERE contact_id = ANY($1)`, [contacts]);
    const inbound = await rows(`SELECT contact_id, external_id FROM messages WHERE direction = 'inbound' AND contact_id = ANY($1)`, [contacts]);
    const overCapacity = await rows(
      `SELECT a.id, a.capacity, count(s.id)::int AS open FROM agents a JOIN assignments s ON s.agent_id = a.id AND s.released_at IS NULL
        GROUP BY a.id, a.capacity HAVING a.capacity IS NOT NULL AND count(s.id) > a.capacity`,
    );
    const result: Ledger = { conversations: contacts.length, runs: 0, assigned: 0, queued: 0, lost: [], duplicated: [], disagreeing: [] };
    const api = clusterApi(cluster);
    for (const contactId of contacts) {
      const count = runs.get(workflowIdForContact(contactId)) ?? 0;
      result.runs += count;
      if (count === 0) result.lost.push(`${contactId}: no run`);
      if (count > 1) result.duplicated.push(`${contactId}: ${count} runs`);
      const mine = open.filter((row) => row.contact_id === contactId);
      if (mine.length > 1) result.duplicated.push(`${contactId}: ${mine.length} open assignments`);
      const state = (await api.call(0, 'GET', `/v1/conversations/${contactId}`)).body;
      if (state.state === 'assigned') {
        result.assigned++;
        if (mine.length !== 1 || mine[0].agent_id !== state.assignee?.agentId) result.disagreeing.push(`${contactId}: assigned to ${state.assignee?.agentId}, rows ${JSON.stringify(mine)}`);
      } else if (state.state === 'queued') {
        result.queued++;
        if (!queued.some((row) => row.contact_id === contactId) || mine.length > 0) result.disagreeing.push(`${contactId}: queued, rows ${JSON.stringify(mine)}`);
      }
    }
    for (const { contactId, messageId } of acceptedMessages) {
      const copies = inbound.filter((row) => row.contact_id === contactId && row.external_id === messageId).length;
      if (copies === 0) result.lost.push(`${contactId}: message ${messageId} not in the transcript`);
      if (copies > 1) result.duplicated.push(`${contactId}: message ${messageId} ${copies} times in the transcript`);
    }
    for (const agent of overCapacity) result.duplicated.push(`${agent.id}: ${agent.open} open for a capacity of ${agent.capacity}`);
    return result;
  } finally {
    await db.end();
    await close();
  }
}
