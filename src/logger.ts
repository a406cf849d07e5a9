import pino from 'pino';
import { currentRequestId } from './request-scope';

export type Logger = pino.Logger;

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
  return destination ? pino(options, destination) : pino(options);
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
