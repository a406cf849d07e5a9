import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadline } from '../../src/net/deadline';

describe('a request deadline', () => {
  it('aborts with a TimeoutError when the time runs out, and says it expired', async () => {
    const within = deadline(30);
    await new Promise((resolve) => within.signal.addEventListener('abort', resolve, { once: true }));
    assert.equal(within.expired, true);
    assert.equal((within.signal.reason as Error).name, 'TimeoutError');
    within.dispose();
  });

  it('follows a cancellation at once, with its reason, without calling it expired', () => {
    const cancel = new AbortController();
    const within = deadline(60_000, cancel.signal);
    cancel.abort(new Error('activity cancelled'));
    assert.equal(within.signal.aborted, true);
    assert.equal((within.signal.reason as Error).message, 'activity cancelled');
    assert.equal(within.expired, false);
    within.dispose();
    const late = deadline(60_000, cancel.signal);
    assert.equal(late.signal.aborted, true, 'an already-cancelled signal aborts the deadline');
    late.dispose();
  });

  it('once disposed, neither the timer nor the cancellation aborts it', async () => {
    const cancel = new AbortController();
    const within = deadline(20, cancel.signal);
    within.dispose();
    await new Promise((resolve) => setTimeout(resolve, 60));
    cancel.abort();
    assert.equal(within.signal.aborted, false);
    assert.equal(within.expired, false);
  });
});
