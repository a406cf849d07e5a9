import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { resolveTemporalBinary } from '../../src/local/temporal-cli';
import { PATCH_HINT } from '../../src/replay/divergence';
import { encryptionKeyIds, HistoryLoadError, loadHistoryFile, parseHistoryExport, replayHistory } from '../../src/replay/history-replay';
import { generateCodecKey } from '../../src/security/codec';
import { workflowIdForContact } from '../../src/workflows/definitions';
import { Harness } from '../support/harness';
import { envWithout, STEERING_VARS, TEST_RUNNER_VARS } from '../support/processes';
import { launch } from '../../src/local/processes';
import { REPO_ROOT } from '../../tools/repo';

/**
 * `npm run replay` and `npm run debug-replay`: recorded and exported histories replayed on today's workflow code,
 * encrypted ones with the codec keys, a nondeterminism explained by its event, and the entry the VS Code extension
 * launches, driven the way the extension drives it. Every recorded fixture is replayed once, with the command's
 * loader and converter, by test/workflows/replay.test.ts.
 */

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'histories');
const { EventType } = temporal.api.enums.v1;

type JsonEvent = Record<string, any>;

describe('replaying histories', () => {
  let h: Harness;
  let scratch: string;
  /** An empty data dir: no codec-keys file of a local `npm start` leaks into the commands. */
  let dataDir: string;
  let exportedPath: string;
  let exported: { events: JsonEvent[] };
  let workflowId: string;

  before(async () => {
    h = await Harness.start();
    scratch = await mkdtemp(join(tmpdir(), 'vip-router-replay-'));
    dataDir = await mkdtemp(join(scratch, 'data-'));
    await h.putAgent('am-rita', { team: 'account-managers', capacity: 5 });
    const id = h.contactId('replay-vip');
    await h.putCustomer(`${id}@example.com`, { customerType: 'VIP', accountManager: 'am-rita' });
    assert.equal((await h.open({ id, email: `${id}@example.com` })).status, 202);
    await h.waitForState(id, 'assigned');
    workflowId = workflowIdForContact(id);
    const binary = await resolveTemporalBinary('cli');
    if (binary.type !== 'existing-path') throw new Error('this test needs the Temporal CLI binary');
    const { stdout } = await promisify(execFile)(
      binary.path,
      ['workflow', 'show', '--workflow-id', workflowId, '--address', h.servers.temporalAddress, '--namespace', 'default', '--output', 'json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    exportedPath = join(scratch, 'exported.json');
    await writeFile(exportedPath, stdout);
    exported = JSON.parse(stdout);
  });
  after(async () => {
    await h.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const command = async (script: 'replay' | 'debug-replay', args: string[], env: NodeJS.ProcessEnv = {}) => {
    const proc = launch(script, process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], { cwd: REPO_ROOT, env: {
      ...envWithout([...STEERING_VARS, ...TEST_RUNNER_VARS]),
      VIP_ROUTER_DATA_DIR: dataDir,
      ...env,
    } });
    const exit = await proc.exited;
    return { code: exit.code, output: proc.output() };
  };

  const fixture = async (name: string): Promise<{ events: JsonEvent[] }> => JSON.parse(await readFile(join(FIXTURES, name), 'utf8'));
  const scheduledActivities = (events: JsonEvent[]) => events.filter((e) => e['activityTaskScheduledEventAttributes']);
  const activityType = (event: JsonEvent) => event['activityTaskScheduledEventAttributes'].activityType.name as string;

  it('says in one line that a fixture replays the same, and exits 0', async () => {
    const { code, output } = await command('replay', ['--file', join(FIXTURES, 'ask-email-valid.json')]);
    assert.equal(code, 0, output);
    assert.match(output, /^replayed conversation-ask-valid-\w+ \(46 events\): the current code makes the same decisions$/m);
  });

  it('replays a history exported encrypted by temporal workflow show -o json, from the file and from the server', async () => {
    assert.deepEqual(encryptionKeyIds(historyFromJSON(exported)), ['test'], 'the export holds the payloads encrypted, as the server keeps them');
    const keys = { VIP_ROUTER_CODEC_KEYS: h.codecKeys };
    const same = new RegExp(`^replayed ${workflowId} \\(${exported.events.length} events\\): the current code makes the same decisions$`, 'm');

    const fromFile = await command('replay', ['--file', exportedPath], keys);
    assert.equal(fromFile.code, 0, fromFile.output);
    assert.match(fromFile.output, same);

    const fromServer = await command('replay', ['--workflow-id', workflowId], { ...keys, TEMPORAL_ADDRESS: h.servers.temporalAddress });
    assert.equal(fromServer.code, 0, fromServer.output);
    assert.match(fromServer.output, /^replayed conversation-replay-vip-\w+ \(\d+ events\): the current code makes the same decisions$/m);

    const missing = await command('replay', ['--workflow-id', 'conversation-nobody'], { TEMPORAL_ADDRESS: h.servers.temporalAddress });
    assert.equal(missing.code, 2, missing.output);
    assert.match(missing.output, /no workflow conversation-nobody in namespace default/);
  });

  it('explains a nondeterminism by its event and both activity types, with the patched() hint, and exits 1', async () => {
    const history = await fixture('ask-email-valid.json');
    const changed = scheduledActivities(history.events).find((e) => activityType(e) === 'sendMessage')!;
    changed['activityTaskScheduledEventAttributes'].activityType.name = 'requestAssignment';
    const path = join(scratch, 'renamed-activity.json');
    await writeFile(path, JSON.stringify(history));

    const { code, output } = await command('replay', ['--file', path]);
    assert.equal(code, 1, output);
    assert.match(output, new RegExp(`diverges at event ${changed['eventId']}\\.`));
    assert.match(output, new RegExp(`the history has: event ${changed['eventId']}, ActivityTaskScheduled \\(activity requestAssignment\\)`));
    assert.match(output, /the code: +scheduled activity sendMessage there instead/);
    assert.match(output, new RegExp(`> +${changed['eventId']} +ActivityTaskScheduled +activity requestAssignment`), 'the event is marked among its neighbours');
    assert.ok(output.includes(PATCH_HINT), output);
  });

  it('finds the diverging event when the history has the same activity type earlier on', async () => {
    const history = await fixture('ask-email-valid.json');
    const scheduled = scheduledActivities(history.events);
    const [first, last] = [scheduled[0]!, scheduled.at(-1)!];
    const [code, recorded] = [activityType(last), activityType(first)];
    last['activityTaskScheduledEventAttributes'].activityType.name = recorded;
    const loaded = parseHistoryExport(history, 'renamed-late');

    const verdict = await replayHistory(loaded.history, { workflowId: loaded.workflowId, workflowBundlePath: h.servers.workflowBundlePath });
    if (verdict.outcome !== 'nondeterministic') assert.fail(`expected a nondeterminism, got ${JSON.stringify(verdict)}`);
    assert.deepEqual(verdict.divergence.event, { id: Number(last['eventId']), type: 'ActivityTaskScheduled', subject: `activity ${recorded}` });
    assert.equal(verdict.divergence.codeDid, `scheduled activity ${code} there instead`);
    assert.deepEqual(
      verdict.divergence.around.map((e) => e.id),
      [-2, -1, 0, 1, 2].map((d) => Number(last['eventId']) + d),
    );
  });

  it('names the key an encrypted history needs, and exits 2, when no key or another key is at hand', async () => {
    const none = await command('replay', ['--file', exportedPath]);
    assert.equal(none.code, 2, none.output);
    assert.match(none.output, /encrypted with key "test" and no key can decrypt them: no payload codec keys/);

    const other = await command('replay', ['--file', exportedPath], { VIP_ROUTER_CODEC_KEYS: generateCodecKey('k-other') });
    assert.equal(other.code, 2, other.output);
    assert.match(other.output, /encrypted with key "test", which is not among the codec keys loaded \(k-other\)/);
    assert.ok(!other.output.includes(h.codecKeys.split(':')[1]!), 'no key material is printed');
  });

  it('reads the bare array of events that older exports wrote, and refuses a "Readable" download plainly', async () => {
    const history = await fixture('vip-account-manager.json');
    const bare = join(scratch, 'bare.json');
    await writeFile(bare, JSON.stringify(history.events));
    const loaded = await loadHistoryFile(bare);
    assert.equal(loaded.history.events?.length, history.events.length);
    assert.match(loaded.workflowId, /^conversation-vip-am-/);

    const readable = JSON.parse(JSON.stringify(history), (key, value) =>
      key === 'payloads' ? (value as Array<{ data?: string }>).map((p) => (p.data ? JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) : null)) : value,
    );
    assert.throws(() => parseHistoryExport(readable, 'readable'), (error: Error) => error instanceof HistoryLoadError && /"Readable" download/.test(error.message));
  });

  it('serves the VS Code extension: replays the encrypted history its server hands out and reports each workflow task', async () => {
    const history = historyFromJSON(exported);
    const bytes = temporal.api.history.v1.History.encode(history).finish();
    const reported: number[] = [];
    // What the extension's server does: the history as protobuf at /history, each workflow task posted back.
    const extension = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/history') return void res.end(bytes);
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        if (req.url === '/current-wft-started') reported.push(JSON.parse(body).eventId);
        res.end();
      });
    });
    await new Promise<void>((ready) => extension.listen(0, '127.0.0.1', ready));
    try {
      const url = `http://127.0.0.1:${(extension.address() as AddressInfo).port}`;
      const { code, output } = await command('debug-replay', [], { TEMPORAL_DEBUGGER_PLUGIN_URL: url, VIP_ROUTER_CODEC_KEYS: h.codecKeys });
      assert.equal(code, 0, output);
      assert.match(output, /Replay completed successfully/);
      const taskStarts = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED).map((e) => Number(e.eventId));
      assert.ok(reported.length > 0, 'the extension hears of the workflow tasks');
      assert.deepEqual(reported.filter((id) => !taskStarts.includes(id)), [], `reported ${reported}, task starts ${taskStarts}`);
    } finally {
      extension.closeAllConnections();
      await new Promise((done) => extension.close(done));
    }
  });
});
