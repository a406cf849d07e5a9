import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Heartbeats every activity while it runs, so the heartbeat timeout of the workflows' activity options tells a
 * dead worker from a slow activity (a long lock wait, a slow CRM) in seconds.
 */
export const heartbeatWhileRunning: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      // A local activity lives in its workflow task, which the worker keeps alive itself.
      if (ctx.info.isLocal) return next(input);
      // Beaten every second; the SDK passes one on to the server every 2 s (the worker's heartbeat throttle).
      const beat = setInterval(() => ctx.heartbeat(), 1_000);
      try {
        return await next(input);
      } finally {
        clearInterval(beat);
      }
    },
  },
});
