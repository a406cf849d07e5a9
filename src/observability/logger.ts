import pino from 'pino';
import pretty from 'pino-pretty';
import { z } from 'zod';
import { currentRequestId } from './request-scope';

export type Logger = pino.Logger;

/** VIP_ROUTER_LOG_FORMAT: `auto` writes readable lines on a terminal and JSON lines anywhere else (a collector). */
export const LOG_FORMAT = z.enum(['auto', 'pretty', 'json']);

/** Where a secret could ride along in a logged object; none of our own lines log these, this is the belt to those braces. */
const SECRET_PATHS = ['authorization', 'apiKey', 'token', 'secret', 'signingKeys', 'codecKeys', '*.authorization', '*.apiKey', '*.token', '*.secret', 'headers.authorization', '*.headers.authorization'];

export function createLogger(level: string = process.env['LOG_LEVEL'] ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'vip-router' },
    redact: { paths: SECRET_PATHS, censor: '[redacted]' },
    // A line logged while serving a request names it (a line's own requestId, as the SDK's carry, wins).
    mixin: () => {
      const requestId = currentRequestId();
      return requestId === undefined ? {} : { requestId };
    },
  };
  if (destination) return pino(options, destination);
  return readableOnStdout() ? pino(options, readableLines()) : pino(options);
}

function readableOnStdout(value = process.env['VIP_ROUTER_LOG_FORMAT']): boolean {
  const format = LOG_FORMAT.safeParse(value ?? 'auto');
  if (!format.success) throw new Error(`VIP_ROUTER_LOG_FORMAT must be one of ${LOG_FORMAT.options.join(', ')}, not "${value}"`);
  return format.data === 'pretty' || (format.data === 'auto' && process.stdout.isTTY === true);
}

/**
 * pino-pretty as a stream in this thread, writing synchronously like pino's own stdout: no worker thread to start or
 * to flush, and a line logged just before process.exit() is on the terminal. Redaction happens before, in pino.
 */
function readableLines(): pino.DestinationStream {
  return pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`: addresses are logged, passwords never. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
