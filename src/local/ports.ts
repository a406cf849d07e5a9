import net from 'node:net';

/** Binds port 0 on loopback and releases it; the caller must bind it soon, since another process could take it. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return bindAndRelease(0, host);
}

/**
 * A free port in [from, to), tried at random. For a program that keeps ports in a smaller type than the system's
 * ephemeral range allows (Temporal's cluster membership stores them as a PostgreSQL smallint: below 32768).
 */
export async function findFreePortBetween(from: number, to: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = from + Math.floor(Math.random() * (to - from));
    const bound = await bindAndRelease(candidate, host).catch(() => undefined);
    if (bound !== undefined) return bound;
  }
  throw new Error(`no free port between ${from} and ${to} on ${host} after 50 tries`);
}

function bindAndRelease(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(port, host, () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}
