/**
 * A request's deadline: a signal that aborts after `ms`, or as soon as `also` aborts (an activity's cancellation).
 *
 * Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: Node 20 holds a timeout signal only weakly once it is
 * folded into `any()`, so a garbage collection while the request hangs drops the timer and the request waits for ever
 * (nodejs/node#57736; seen as a CRM that hangs past its timeout being reported as "Activity timed out"). Here the
 * timer holds the controller, and `dispose()` clears the timer and the listener once the request is over.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the time ran out (not when `also` aborted). */
  readonly expired: boolean;
  dispose(): void;
}

export function deadline(ms: number, also?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  const follow = (): void => controller.abort(also?.reason);
  if (also?.aborted) follow();
  else also?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    dispose() {
      clearTimeout(timer);
      also?.removeEventListener('abort', follow);
    },
  };
}
