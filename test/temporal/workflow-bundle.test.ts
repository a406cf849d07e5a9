import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { bundleRoutingWorkflows } from '../../src/temporal/workflow-bundle';

/** A worker bundling at start (or npm run build) reports webpack's work in one line, not webpack's whole report. */
describe('the workflow bundle report', () => {
  it('is one line: size, modules, time; webpack logs nothing else when all is well', async () => {
    const logged: LogEntry[] = [];
    const { code, summary } = await bundleRoutingWorkflows(new DefaultLogger('TRACE', (entry) => logged.push(entry)));
    assert.deepEqual(logged, [], 'webpack report, "Workflow bundle created": nothing reaches the logger');
    const [, megabytes, modules] = /^workflow bundle: (\d+\.\d) MB, (\d+) modules, \d+\.\d s$/.exec(summary) ?? [];
    assert.ok(megabytes && modules, summary);
    assert.equal(Number(megabytes), Number((Buffer.byteLength(code) / 1e6).toFixed(1)));
    assert.ok(Number(modules) > 50, `the routing workflows, zod and the SDK are more than 50 modules: ${summary}`);
    assert.match(code, /routeConversation/);
  });

  it("passes webpack's errors on", async () => {
    const logged: LogEntry[] = [];
    await assert.rejects(bundleRoutingWorkflows(new DefaultLogger('TRACE', (entry) => logged.push(entry)), ['/nonexistent/interceptors.ts']));
    assert.ok(
      logged.some((entry) => entry.level === 'ERROR' && entry.message.includes('/nonexistent/interceptors.ts')),
      logged.map((entry) => `${entry.level} ${entry.message}`).join('\n'),
    );
  });
});
