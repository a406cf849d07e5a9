import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { envWithout, TEST_RUNNER_VARS } from '../support/processes';
import { REPO_ROOT } from '../../tools/repo';

/**
 * Logs on a terminal are readable lines (pino-pretty), JSON lines anywhere else; VIP_ROUTER_LOG_FORMAT forces either.
 * Each case runs test/fixtures/log-lines.ts as its own process, under a pseudo-terminal (util-linux `script`) or with
 * stdout a pipe: every line logged before process.exit() is written, and the secret stays redacted in both forms.
 */

const FIXTURE = 'test/fixtures/log-lines.ts';
const LINES = 101;
const SECRET = 'sk-live-secret';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The fixture's output, its terminal's colour codes and carriage returns taken out. */
function logLines(format: string | undefined, terminal: boolean): Promise<Ran> {
  const node = [process.execPath, '--import', 'tsx', FIXTURE];
  const [command, args] = terminal ? ['script', ['-qec', node.map((word) => `'${word}'`).join(' '), '/dev/null']] : [node[0]!, node.slice(1)];
  const env = { ...envWithout([...TEST_RUNNER_VARS, 'VIP_ROUTER_LOG_FORMAT']), ...(format ? { VIP_ROUTER_LOG_FORMAT: format } : {}) };
  return new Promise((done) => {
    execFile(command, args, { cwd: REPO_ROOT, env }, (error, stdout, stderr) => {
      const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, ''); // eslint-disable-line no-control-regex
      done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout: plain(stdout), stderr: plain(stderr) });
    });
  });
}

function assertJsonLines(ran: Ran): void {
  assert.equal(ran.code, 3, ran.stderr);
  const lines = ran.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, LINES, 'every line logged before exit is written');
  assert.deepEqual(lines.at(-1), { ...lines.at(-1), level: 30, service: 'vip-router', msg: 'worker running', apiKey: '[redacted]', contactId: 'c-1' });
  assert.ok(!ran.stdout.includes(SECRET));
}

function assertReadableLines(ran: Ran): void {
  assert.equal(ran.code, 3, ran.stderr);
  const heads = ran.stdout.split('\n').filter((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: /.test(line));
  assert.equal(heads.length, LINES, `every line logged before exit is written, one "[time] LEVEL: message" each\n${ran.stdout}`);
  assert.equal(heads.at(-1)?.replace(/^\[[^\]]+\] /, ''), 'INFO: worker running');
  assert.match(ran.stdout, /INFO: worker running\n {4}apiKey: "\[redacted\]"\n {4}contactId: "c-1"\n*$/);
  assert.ok(!ran.stdout.includes('{"level"'), 'no JSON line');
  assert.ok(!ran.stdout.includes(SECRET));
}

describe('log format', () => {
  it('on a terminal, by default: readable lines', async () => assertReadableLines(await logLines(undefined, true)));
  it('on a pipe, by default: JSON lines', async () => assertJsonLines(await logLines(undefined, false)));
  it('VIP_ROUTER_LOG_FORMAT=pretty: readable lines on a pipe too', async () => assertReadableLines(await logLines('pretty', false)));
  it('VIP_ROUTER_LOG_FORMAT=json: JSON lines on a terminal too', async () => assertJsonLines(await logLines('json', true)));
  it('VIP_ROUTER_LOG_FORMAT=auto is the default', async () => assertReadableLines(await logLines('auto', true)));
  it('another VIP_ROUTER_LOG_FORMAT is refused, naming the variable', async () => {
    const ran = await logLines('fancy', false);
    assert.notEqual(ran.code, 0);
    assert.match(ran.stderr, /VIP_ROUTER_LOG_FORMAT must be one of auto, pretty, json, not "fancy"/);
    assert.equal(ran.stdout, '');
  });
});
