import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CrmReply {
  status: number;
  body?: unknown;
  delayMs?: number;
}

/**
 * A real HTTP CRM on loopback. Each email gets a script of replies, played in order; the last one
 * repeats. Unscripted emails get 404.
 */
export class FakeCrm {
  private readonly scripts = new Map<string, CrmReply[]>();
  readonly requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined> }> = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://crm');
      this.requests.push({ method: req.method ?? 'GET', url: url.pathname + url.search, headers: req.headers });
      const email = url.searchParams.get('email') ?? '';
      const script = this.scripts.get(email);
      const reply = script && script.length > 1 ? script.shift()! : (script?.[0] ?? { status: 404, body: { error: 'not found' } });
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
      else send();
    });
    await new Promise<void>((ready) => this.server!.listen(0, '127.0.0.1', ready));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The CRM URL template routing configs point at. */
  get lookupUrl(): string {
    return `${this.url}/customers?email={{email}}`;
  }

  script(email: string, ...replies: CrmReply[]): void {
    this.scripts.set(email, replies);
  }

  requestsFor(email: string): number {
    return this.requests.filter((r) => new URL(r.url, 'http://crm').searchParams.get('email') === email).length;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }
}
