import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on loopback that can hold traffic: while held, nothing passes in either direction (new connections are
 * accepted and held too), so a process behind it is stuck mid-call exactly where a test wants it. `drop()` closes
 * every connection without forwarding what was held: bytes a killed process sent never reach the server.
 */
export class HoldingProxy {
  private server?: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private held = false;
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      const pair = { client, upstream };
      this.pairs.add(pair);
      const close = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      if (this.held) {
        client.pause();
        upstream.pause();
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
    });
    await new Promise<void>((ready) => this.server!.listen(0, '127.0.0.1', ready));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Not pipe(): a held pair must not pass on what is already buffered in its streams. */
  private forward(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk) => {
      if (this.held) {
        from.pause();
        from.unshift(chunk);
        return;
      }
      to.write(chunk);
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** From now on nothing passes, on open connections and new ones. */
  hold(): void {
    this.held = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  release(): void {
    this.held = false;
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  /** Closes every connection, forwarding nothing that was held; the proxy keeps accepting. */
  drop(): void {
    for (const { client, upstream } of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.drop();
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }
}
