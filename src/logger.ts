import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { service: 'vip-router' } });
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
