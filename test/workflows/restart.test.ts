import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getContact } from '../../src/db/contacts';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { FakeCrm } from '../support/fake-crm';
import { Harness } from '../support/harness';
import { assignmentsOf, waitForPendingTimer } from '../support/time-skipping';
import { askedThenRouted } from '../support/paths';
import { harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../support/worker-process';

async function transcriptKinds(h: Harness, contactId: string): Promise<string[]> {
  return (await h.transcript(contactId)).map((m) => `${m.direction}:${m.kind}`);
}

/** Returns once the run waits for the contact's reply to the email question. */
function waitForQuestionAsked(h: Harness, contactId: string): Promise<number> {
  return waitForPendingTimer(h.client.workflow.getHandle(workflowIdForContact(contactId)));
}

describe('a conversation outlives the worker that started it', () => {
  describe('graceful restart (deploy)', () => {
    let h: Harness;
    before(async () => {
      h = await Harness.start();
      await h.putAgent('sup-sam', { team: 'support', capacity: 5 });
    });
    after(() => h.close());

    it('takes a reply sent while no worker runs and assigns once, without resending anything, after the restart', async () => {
      const id = h.contactId('restart');
      const email = `${id}@example.com`;
      await h.putCustomer(email, { customerType: 'Regular' });
      assert.equal((await h.open({ id })).status, 202);
      await waitForQuestionAsked(h, id);

      await h.stopWorker();
      const reply = await h.say(id, `${id}-m1`, email);
      assert.equal(reply.status, 202, 'the API accepts the reply with no worker running');
      await h.startWorker();

      const status = await h.waitForState(id, 'assigned');
      assert.deepEqual(status.assignee, { agentId: 'sup-sam', name: 'sup-sam', team: 'support' });
      assert.deepEqual(status.path, askedThenRouted('regular'));
      assert.deepEqual(await assignmentsOf(h.db, id), [{ agentId: 'sup-sam', via: 'team', released: false }]);
      assert.deepEqual(await transcriptKinds(h, id), ['outbound:question', 'inbound:reply', 'outbound:success']);
      await h.recordHistory(id, 'worker-restart-while-asking');
    });
  });

  describe('round robin across a worker restart', () => {
    let h: Harness;
    before(async () => {
      h = await Harness.start({ routing: { teams: { rr: { strategy: 'round_robin' } }, regular: { chain: [{ kind: 'team', team: 'rr' }] } } });
      for (const id of ['rr-a', 'rr-b', 'rr-c']) await h.putAgent(id, { team: 'rr', capacity: 10 });
    });
    after(() => h.close());

    async function nextAssignee(label: string): Promise<string | undefined> {
      const id = h.contactId(label);
      await h.open({ id, email: `${id}@example.com` });
      return (await h.waitForState(id, 'assigned')).assignee?.agentId;
    }

    it('goes on from the agent after the last one served, not from the start of the team', async () => {
      assert.deepEqual([await nextAssignee('rr-1'), await nextAssignee('rr-2')], ['rr-a', 'rr-b']);
      await h.stopWorker();
      await h.startWorker();
      // A worker that kept the cursor in memory would start over at rr-a.
      assert.deepEqual([await nextAssignee('rr-3'), await nextAssignee('rr-4')], ['rr-c', 'rr-a']);
      const { rows } = await h.db.query(`SELECT last_agent_id FROM team_cursors WHERE team = 'rr'`);
      assert.deepEqual(rows, [{ last_agent_id: 'rr-a' }], 'the cursor lives in PostgreSQL');
    });
  });

  describe('crash (SIGKILL of the worker process)', () => {
    let h: Harness;
    const crm = new FakeCrm();
    const processes = new Set<WorkerProcess>();

    /** A worker in its own OS process on the harness's task queue and database; resolves once it polls. */
    async function spawnWorker(): Promise<WorkerProcess> {
      const child = await spawnWorkerProcess(harnessWorkerEnv(h));
      processes.add(child);
      child.once('exit', () => processes.delete(child));
      return child;
    }
    const stop = stopWorkerProcess;

    before(async () => {
      await crm.start();
      // 6 s: the kill lands well before the worker's own CRM timeout would end the request, and the lost
      // activity's 11 s timeout outlasts the server's 10 s sticky-poller window, so the retry goes straight to
      // the replacement instead of first waiting out the dead worker's sticky queue.
      h = await Harness.start({ routing: { crm: { url: crm.lookupUrl, timeout: '6s' } } });
      await h.stopWorker(); // only the worker processes below serve the task queue
      await h.putAgent('sup-sam', { team: 'support', capacity: 5 });
    });
    after(async () => {
      for (const child of processes) await stop(child, 'SIGKILL');
      await h.close();
      await crm.stop();
    });

    it('completes on a replacement worker after the first is killed during the CRM call, with no duplicate assignment or message', async () => {
      const id = h.contactId('crash');
      const email = `${id}@example.com`;
      // The first lookup hangs (the worker dies holding it); the retry answers at once.
      crm.script(email, { status: 200, body: { customerType: 'Regular' }, delayMs: 60_000 }, { status: 200, body: { customerType: 'Regular' } });

      const first = await spawnWorker();
      await h.open({ id });
      await waitForQuestionAsked(h, id);
      assert.equal((await h.say(id, `${id}-m1`, `here you go: ${email}`)).status, 202);
      const deadline = Date.now() + 20_000;
      while (crm.requestsFor(email) === 0) {
        if (Date.now() > deadline) throw new Error('the CRM was never called');
        await new Promise((r) => setTimeout(r, 20));
      }
      await stop(first, 'SIGKILL');
      assert.equal(first.signalCode, 'SIGKILL');

      const replacement = await spawnWorker();
      const assigned = await h.waitForState(id, 'assigned', 40_000);
      assert.deepEqual(assigned.assignee, { agentId: 'sup-sam', name: 'sup-sam', team: 'support' });
      // The CRM request runs inside the workflow task (a local activity): the task died with the worker, timed out,
      // and the replacement ran it again. The CRM did not fail, so no CRM error is recorded.
      const events = (await h.client.workflow.getHandle(workflowIdForContact(id)).fetchHistory()).events ?? [];
      assert.ok(events.some((e) => e.workflowTaskTimedOutEventAttributes), 'the dead worker\'s workflow task timed out');
      assert.ok(!assigned.decisions.some((d) => d.step === 'crm_error'), JSON.stringify(assigned.decisions));
      assert.equal(crm.requestsFor(email), 2, 'one lost lookup, one retried lookup');
      assert.equal((await getContact(h.db, id))?.email, email);

      assert.equal((await h.request('POST', `/v1/conversations/${id}/close`)).status, 202);
      const closed = await h.waitForState(id, 'closed');
      assert.equal(closed.assignee, undefined);
      assert.deepEqual(await assignmentsOf(h.db, id), [{ agentId: 'sup-sam', via: 'team', released: true }]);
      assert.deepEqual(await transcriptKinds(h, id), ['outbound:question', 'inbound:reply', 'outbound:success']);
      await h.recordHistory(id, 'worker-crash-during-crm');
      await stop(replacement, 'SIGTERM');
      assert.equal(replacement.exitCode, 0, 'the replacement drains and exits cleanly on SIGTERM');
    });
  });
});
