import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface TlsFrontOptions {
  /** The plaintext gRPC server behind the front, `host:port`. */
  upstream: string;
  /** The front's own certificate and key (PEM). */
  cert: Buffer;
  key: Buffer;
  /** When set, every client must present a certificate signed by this CA. */
  clientCa?: Buffer;
  /** When set, every call must carry `authorization: Bearer <apiKey>`; others get UNAUTHENTICATED. */
  apiKey?: string;
}

export interface TlsFront {
  /** `127.0.0.1:<port>`. */
  address: string;
  /**
   * Why TLS handshakes failed: OpenSSL's reason (`peer did not return a certificate`) or the verification error of
   * the client's certificate (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`).
   */
  readonly refusedHandshakes: string[];
  /** gRPC calls passed through to the upstream, by method path. */
  readonly forwardedCalls: string[];
  /** gRPC calls answered UNAUTHENTICATED for a missing or wrong API key. */
  readonly unauthenticatedCalls: number;
  close(): Promise<void>;
}

const GRPC_UNAUTHENTICATED = '16';
const GRPC_UNAVAILABLE = '14';
// Pseudo-headers the upstream session sets for itself.
const DROPPED_REQUEST_HEADERS = [':scheme', ':authority'];

/**
 * What a TLS-terminating load balancer in front of Temporal does, for tests: terminates TLS (optionally requiring
 * client certificates and an API key) and forwards each gRPC call, headers, body and trailers, over HTTP/2 to a
 * plaintext Temporal server such as the dev server.
 */
export async function startTlsFront(options: TlsFrontOptions): Promise<TlsFront> {
  const refusedHandshakes: string[] = [];
  const forwardedCalls: string[] = [];
  let unauthenticatedCalls = 0;
  const sessions = new Set<ServerHttp2Session>();

  let upstream: ClientHttp2Session | undefined;
  const upstreamSession = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2.connect(`http://${options.upstream}`);
      // Stream-level handlers report failures to callers; a session error needs no more than a reconnect later.
      upstream.on('error', () => undefined);
    }
    return upstream;
  };

  const server = http2.createSecureServer({
    cert: options.cert,
    key: options.key,
    ...(options.clientCa && { ca: options.clientCa, requestCert: true, rejectUnauthorized: true }),
  });
  server.on('tlsClientError', (error: Error & { reason?: string }, socket: TLSSocket) => {
    // A certificate OpenSSL could not verify shows only on the socket; the error is then a bare hang-up.
    refusedHandshakes.push(socket.authorizationError ? String(socket.authorizationError) : (error.reason ?? error.message));
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    if (options.apiKey !== undefined && headers.authorization !== `Bearer ${options.apiKey}`) {
      unauthenticatedCalls++;
      stream.resume();
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_UNAUTHENTICATED, 'grpc-message': 'missing or invalid API key' },
        { endStream: true },
      );
      return;
    }
    forwardedCalls.push(String(headers[':path']));
    forward(stream, headers, upstreamSession());
  });

  await new Promise<void>((ready, fail) => server.once('error', fail).listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${port}`,
    refusedHandshakes,
    forwardedCalls,
    get unauthenticatedCalls() {
      return unauthenticatedCalls;
    },
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const session of sessions) session.destroy();
      upstream?.destroy();
      await closed;
    },
  };
}

function forward(downstream: ServerHttp2Stream, headers: IncomingHttpHeaders, session: ClientHttp2Session): void {
  const requestHeaders = { ...headers };
  for (const name of DROPPED_REQUEST_HEADERS) delete requestHeaders[name];
  const call = session.request(requestHeaders);
  let trailers: IncomingHttpHeaders | undefined;

  call.on('response', (responseHeaders, flags) => {
    if (downstream.closed) return;
    // A trailers-only response (how gRPC servers answer most errors) ends the stream with its headers.
    const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    downstream.respond(responseHeaders, endStream ? { endStream: true } : { waitForTrailers: true });
    if (!endStream) call.pipe(downstream);
  });
  call.on('trailers', (received) => {
    trailers = received;
  });
  downstream.on('wantTrailers', () => {
    downstream.sendTrailers(trailers ?? { 'grpc-status': GRPC_UNAVAILABLE, 'grpc-message': 'upstream ended without trailers' });
  });
  call.on('error', (error: Error) => {
    if (downstream.closed) return;
    if (!downstream.headersSent) {
      downstream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_UNAVAILABLE, 'grpc-message': `upstream: ${error.message}` },
        { endStream: true },
      );
    } else {
      downstream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  });
  // A client that cancels (or a long poll the worker gives up on at shutdown) cancels the upstream call too.
  downstream.on('close', () => {
    if (!call.closed) call.close(http2.constants.NGHTTP2_CANCEL);
  });
  downstream.pipe(call);
}
