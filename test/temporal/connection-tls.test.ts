import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { CertificateAuthority } from '../../tools/pki';
import { resolveTemporalBinary } from '../../src/local/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/local/temporal-dev-server';
import { createLogger } from '../../src/observability/logger';
import { ConfigError } from '../../src/domain/routing-config';
import { routeTemporalLogs } from '../../src/temporal/runtime';
import {
  describeTemporalConnection,
  temporalConnectionEnv,
  temporalConnectionOptions,
  type TemporalConnectionOptions,
} from '../../src/temporal/connection';
import type { GreetingActivities } from '../fixtures/tls-workflow';
import { startTlsFront, type TlsFront } from '../support/tls-front';


const SERVER_NAME = 'temporal.internal';
const API_KEY = `test-api-key-${randomUUID()}`;
// A refused handshake never makes a channel ready: the client gives up at its connect timeout.
const REFUSED_CONNECT_TIMEOUT_MS = 2_000;

interface Pki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueClientCert: string;
  rogueClientKey: string;
}

/** A test CA with a server certificate (127.0.0.1, localhost, temporal.internal) and a client one; a rogue CA with its own client. */
async function generatePki(dir: string): Promise<Pki> {
  const [ca, rogueCa] = await Promise.all([CertificateAuthority.create(dir, 'ca', '/CN=vip-router test CA'), CertificateAuthority.create(dir, 'rogue-ca', '/CN=rogue CA')]);
  const [server, client, rogueClient] = await Promise.all([
    ca.issue({ name: 'server', subject: '/CN=temporal-front', usage: 'serverAuth', san: `IP:127.0.0.1,DNS:localhost,DNS:${SERVER_NAME}` }),
    ca.issue({ name: 'client', subject: '/CN=vip-router-worker', usage: 'clientAuth' }),
    rogueCa.issue({ name: 'rogue-client', subject: '/CN=vip-router-worker', usage: 'clientAuth' }),
  ]);
  return {
    dir,
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    rogueClientCert: rogueClient.cert,
    rogueClientKey: rogueClient.key,
  };
}

/** What the service does at start: env → validated options. */
function optionsFromEnv(address: string, env: Record<string, string>): TemporalConnectionOptions {
  return temporalConnectionOptions(address, temporalConnectionEnv.parse(env));
}

async function withClient<T>(options: TemporalConnectionOptions, body: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect(options);
  try {
    return await body(connection);
  } finally {
    await connection.close();
  }
}

/** Asserts the connection attempt fails, and returns the gRPC status code behind the failure when there is one. */
async function refusedConnect(options: TemporalConnectionOptions): Promise<{ message: string; grpcCode?: number }> {
  try {
    const connection = await Connection.connect({ ...options, connectTimeout: REFUSED_CONNECT_TIMEOUT_MS });
    await connection.close();
  } catch (error) {
    assert.ok(error instanceof Error);
    const cause = error.cause;
    return { message: error.message, grpcCode: isGrpcServiceError(cause) ? cause.code : undefined };
  }
  assert.fail('the connection was expected to be refused');
}

function configErrorMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

let pki: Pki;
let pem: { ca: string; cert: string; key: string; rogueCert: string; rogueKey: string };

before(async () => {
  pki = await generatePki(await fs.mkdtemp(path.join(os.tmpdir(), 'vip-router-tls-')));
  const read = (file: string) => fs.readFile(file, 'utf8');
  pem = {
    ca: await read(pki.caCert),
    cert: await read(pki.clientCert),
    key: await read(pki.clientKey),
    rogueCert: await read(pki.rogueClientCert),
    rogueKey: await read(pki.rogueClientKey),
  };
});

after(async () => {
  await fs.rm(pki.dir, { recursive: true, force: true });
});

describe('temporalConnectionOptions from env', () => {
  const address = '127.0.0.1:7233';

  test('no TLS setting and no API key: plaintext, with TLS explicitly off', () => {
    const options = optionsFromEnv(address, { TEMPORAL_TLS_CERT: '', TEMPORAL_API_KEY: '  ' });
    assert.deepEqual(options, { address, tls: false });
    assert.equal(describeTemporalConnection(options), 'plaintext');
  });

  test('certificate, key and CA as file paths load into the mTLS options', async () => {
    const options = optionsFromEnv(address, {
      TEMPORAL_TLS_CERT: pki.clientCert,
      TEMPORAL_TLS_KEY: pki.clientKey,
      TEMPORAL_TLS_CA: pki.caCert,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    });
    assert.deepEqual(options, {
      address,
      tls: {
        serverNameOverride: SERVER_NAME,
        serverRootCACertificate: await fs.readFile(pki.caCert),
        clientCertPair: { crt: await fs.readFile(pki.clientCert), key: await fs.readFile(pki.clientKey) },
      },
    });
    assert.equal(
      describeTemporalConnection(options),
      `mTLS (client cert CN=vip-router-worker, CA CN=vip-router test CA, server name ${SERVER_NAME})`,
    );
  });

  test('inline PEM, with real or escaped newlines, gives the same options as the files', () => {
    const fromFiles = optionsFromEnv(address, { TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.clientKey, TEMPORAL_TLS_CA: pki.caCert });
    const inline = optionsFromEnv(address, { TEMPORAL_TLS_CERT: pem.cert, TEMPORAL_TLS_KEY: pem.key, TEMPORAL_TLS_CA: pem.ca });
    const escaped = optionsFromEnv(address, {
      TEMPORAL_TLS_CERT: pem.cert.replaceAll('\n', '\\n'),
      TEMPORAL_TLS_KEY: pem.key.replaceAll('\n', '\\n'),
      TEMPORAL_TLS_CA: pem.ca.replaceAll('\n', '\\n'),
    });
    assert.deepEqual(inline, fromFiles);
    assert.deepEqual(escaped, fromFiles);
  });

  test('a certificate without its key, or a key without its certificate, is refused by name', () => {
    assert.match(
      configErrorMessage(() => optionsFromEnv(address, { TEMPORAL_TLS_CERT: pki.clientCert })),
      /TEMPORAL_TLS_CERT: set without TEMPORAL_TLS_KEY/,
    );
    assert.match(
      configErrorMessage(() => optionsFromEnv(address, { TEMPORAL_TLS_KEY: pki.clientKey })),
      /TEMPORAL_TLS_KEY: set without TEMPORAL_TLS_CERT/,
    );
  });

  test('an unreadable file names the variable and the path, and a file without PEM says so', () => {
    const missing = path.join(pki.dir, 'no-such-ca.crt');
    assert.match(
      configErrorMessage(() => optionsFromEnv(address, { TEMPORAL_TLS_CA: missing })),
      new RegExp(`TEMPORAL_TLS_CA: cannot read file ${missing} \\(no such file\\)`),
    );
    assert.match(
      configErrorMessage(() => optionsFromEnv(address, { TEMPORAL_TLS_CA: pki.dir })),
      new RegExp(`TEMPORAL_TLS_CA: cannot read file ${pki.dir} \\(a directory\\)`),
    );
    const notPem = path.join(pki.dir, 'server.cnf');
    assert.match(
      configErrorMessage(() => optionsFromEnv(address, { TEMPORAL_TLS_CA: notPem })),
      new RegExp(`TEMPORAL_TLS_CA: file ${notPem} holds no PEM block`),
    );
  });

  test('key material that is neither a path nor PEM is never echoed in the error', () => {
    const base64Key = Buffer.from(pem.key).toString('base64');
    const message = configErrorMessage(() => optionsFromEnv(address, { TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: base64Key }));
    assert.match(message, /TEMPORAL_TLS_KEY: neither a file path nor PEM text/);
    assert.ok(!message.includes(base64Key.slice(0, 40)));
  });

  test('a key that does not belong to the certificate is refused before any connection', () => {
    const message = configErrorMessage(() =>
      optionsFromEnv(address, { TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.rogueClientKey }),
    );
    assert.match(message, /TEMPORAL_TLS_KEY: does not belong to the certificate in TEMPORAL_TLS_CERT/);
    assert.ok(!message.includes('PRIVATE KEY'));
  });

  test('every problem is listed at once', () => {
    const message = configErrorMessage(() =>
      optionsFromEnv(address, { TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_CA: path.join(pki.dir, 'missing.crt') }),
    );
    assert.match(message, /^Temporal connection settings are invalid:\n {2}- TEMPORAL_TLS_CA: cannot read file .*\n {2}- TEMPORAL_TLS_CERT: set without/);
  });

  test('an API key turns TLS on, names the namespace for Temporal Cloud, and is masked in logs', () => {
    const options = optionsFromEnv(address, { TEMPORAL_API_KEY: API_KEY });
    assert.deepEqual(options, { address, tls: true, apiKey: API_KEY });
    const withNamespace = temporalConnectionOptions(address, {
      ...temporalConnectionEnv.parse({ TEMPORAL_API_KEY: API_KEY }),
      TEMPORAL_NAMESPACE: 'vip.a1b2c',
    });
    assert.deepEqual(withNamespace.metadata, { 'temporal-namespace': 'vip.a1b2c' });
    assert.equal(describeTemporalConnection(options), `API key ****${API_KEY.slice(-4)} over TLS`);
  });

  test('an API key goes with mTLS or a private CA, and stays on plaintext only when TEMPORAL_TLS=false says so', () => {
    const mtls = optionsFromEnv(address, { TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS_CERT: pem.cert, TEMPORAL_TLS_KEY: pem.key });
    assert.equal(mtls.apiKey, API_KEY);
    assert.match(describeTemporalConnection(mtls), /^API key \*{4}.{4} over mTLS \(client cert CN=vip-router-worker\)$/);

    const plaintext = optionsFromEnv(address, { TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' });
    // `false`, not absent: left out, the SDKs would turn TLS on because of the API key.
    assert.deepEqual(plaintext, { address, tls: false, apiKey: API_KEY });
    assert.equal(describeTemporalConnection(plaintext), `API key ****${API_KEY.slice(-4)} over plaintext`);
  });

  test('TEMPORAL_TLS=true alone asks for TLS checked against the system CAs', () => {
    const options = optionsFromEnv(address, { TEMPORAL_TLS: 'true' });
    assert.deepEqual(options, { address, tls: true });
    assert.equal(describeTemporalConnection(options), 'TLS');
  });

  test('TEMPORAL_TLS=false contradicting a TLS setting is refused, and TEMPORAL_TLS takes only true or false', () => {
    assert.match(
      configErrorMessage(() => optionsFromEnv(address, { TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: pki.caCert })),
      /TEMPORAL_TLS: 'false' contradicts TEMPORAL_TLS_CA/,
    );
    const parsed = temporalConnectionEnv.safeParse({ TEMPORAL_TLS: 'yes' });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues.map((issue) => issue.path), [['TEMPORAL_TLS']]);
  });
});

describe('connecting through a TLS front to a real Temporal server', () => {
  let devServer: TemporalDevServer;
  let mtlsFront: TlsFront;
  let apiKeyFront: TlsFront;

  before(async () => {
    // The native runtime logs refused handshakes at WARN; the assertions below say what matters.
    routeTemporalLogs(createLogger('silent'));
    const binary = await resolveTemporalBinary('cli');
    assert.equal(binary.type, 'existing-path', 'these tests need a real Temporal CLI binary');
    devServer = await startTemporalDevServer({ binary: binary.path });
    const [cert, key, clientCa] = await Promise.all([fs.readFile(pki.serverCert), fs.readFile(pki.serverKey), fs.readFile(pki.caCert)]);
    [mtlsFront, apiKeyFront] = await Promise.all([
      startTlsFront({ upstream: devServer.address, cert, key, clientCa }),
      startTlsFront({ upstream: devServer.address, cert, key, apiKey: API_KEY }),
    ]);
  });

  after(async () => {
    await Promise.all([mtlsFront?.close(), apiKeyFront?.close()]);
    await devServer?.stop();
  });

  const mtlsEnv = () => ({ TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.clientKey, TEMPORAL_TLS_CA: pki.caCert });

  test('a client with a certificate from the cluster CA (files) reaches the server through mTLS', async () => {
    const before = mtlsFront.forwardedCalls.length;
    await withClient(optionsFromEnv(mtlsFront.address, mtlsEnv()), async (connection) => {
      const info = await connection.workflowService.getSystemInfo({});
      assert.ok(info.serverVersion);
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(namespaceInfo?.name, 'default');
    });
    assert.ok(
      mtlsFront.forwardedCalls.slice(before).includes('/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace'),
      'the call went through the front',
    );
  });

  test('inline PEM and TEMPORAL_TLS_SERVER_NAME work the same way', async () => {
    const options = optionsFromEnv(mtlsFront.address, {
      TEMPORAL_TLS_CERT: pem.cert,
      TEMPORAL_TLS_KEY: pem.key,
      TEMPORAL_TLS_CA: pem.ca,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    });
    await withClient(options, async (connection) => {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(namespaceInfo?.name, 'default');
    });
  });

  test('a worker on a NativeConnection with the same options runs a workflow and its activity end to end', async () => {
    const nativeConnection = await NativeConnection.connect(optionsFromEnv(mtlsFront.address, mtlsEnv()));
    const taskQueue = `tls-${randomUUID()}`;
    try {
      const activities: GreetingActivities = { greet: async (name) => `hello ${name}, over mTLS` };
      const worker = await Worker.create({
        connection: nativeConnection,
        taskQueue,
        workflowsPath: require.resolve('../fixtures/tls-workflow'),
        activities,
      });
      await worker.runUntil(
        withClient(
          optionsFromEnv(mtlsFront.address, { TEMPORAL_TLS_CERT: pem.cert, TEMPORAL_TLS_KEY: pem.key, TEMPORAL_TLS_CA: pem.ca }),
          async (connection) => {
            const client = new Client({ connection });
            const result = await client.workflow.execute('greetThroughFront', {
              taskQueue,
              workflowId: `greet-${randomUUID()}`,
              args: ['Ana'],
              workflowExecutionTimeout: '1 minute',
            });
            assert.equal(result, 'hello Ana, over mTLS');
          },
        ),
      );
    } finally {
      await nativeConnection.close();
    }
    const polls = mtlsFront.forwardedCalls.filter((call) => /PollWorkflowTaskQueue|PollActivityTaskQueue/.test(call));
    assert.ok(polls.length >= 2, 'the worker polled through the front');
  });

  test('a client without a certificate is refused by the front', async () => {
    const refusedBefore = mtlsFront.refusedHandshakes.length;
    const { message } = await refusedConnect(optionsFromEnv(mtlsFront.address, { TEMPORAL_TLS_CA: pki.caCert }));
    // grpc-js keeps the TLS reason to itself: the client sees a channel that never becomes ready.
    assert.equal(message, 'Failed to connect before the deadline');
    assert.ok(
      mtlsFront.refusedHandshakes.slice(refusedBefore).some((reason) => /did not return a certificate/.test(reason)),
      `refusals: ${mtlsFront.refusedHandshakes.join('; ')}`,
    );
  });

  test('a client with a certificate from another CA is refused by the front', async () => {
    const refusedBefore = mtlsFront.refusedHandshakes.length;
    const { message } = await refusedConnect(
      optionsFromEnv(mtlsFront.address, { TEMPORAL_TLS_CERT: pki.rogueClientCert, TEMPORAL_TLS_KEY: pki.rogueClientKey, TEMPORAL_TLS_CA: pki.caCert }),
    );
    assert.equal(message, 'Failed to connect before the deadline');
    assert.ok(
      mtlsFront.refusedHandshakes.slice(refusedBefore).some((reason) => reason === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      `refusals: ${mtlsFront.refusedHandshakes.join('; ')}`,
    );
  });

  test('a server whose certificate does not match TEMPORAL_TLS_SERVER_NAME is refused by the client', async () => {
    const forwardedBefore = mtlsFront.forwardedCalls.length;
    const { message } = await refusedConnect(optionsFromEnv(mtlsFront.address, { ...mtlsEnv(), TEMPORAL_TLS_SERVER_NAME: 'someone-else.example' }));
    assert.equal(message, 'Failed to connect before the deadline');
    assert.equal(mtlsFront.forwardedCalls.length, forwardedBefore, 'no call reached the server');
  });

  test('with the front requiring an API key, TEMPORAL_API_KEY lets the client and a NativeConnection through', async () => {
    const env = temporalConnectionEnv.parse({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS_CA: pki.caCert });
    // With the namespace header Temporal Cloud expects, as the service will pass it.
    const options = temporalConnectionOptions(apiKeyFront.address, { ...env, TEMPORAL_NAMESPACE: 'default' });
    await withClient(options, async (connection) => {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(namespaceInfo?.name, 'default');
    });
    const nativeConnection = await NativeConnection.connect(options);
    try {
      const { namespaceInfo } = await nativeConnection.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(namespaceInfo?.name, 'default');
    } finally {
      await nativeConnection.close();
    }
  });

  test('with the front requiring an API key, no key or a wrong key is refused with UNAUTHENTICATED', async () => {
    const unauthenticatedBefore = apiKeyFront.unauthenticatedCalls;
    const withoutKey = await refusedConnect(optionsFromEnv(apiKeyFront.address, { TEMPORAL_TLS_CA: pki.caCert }));
    assert.equal(withoutKey.grpcCode, 16);
    const wrongKey = await refusedConnect(
      optionsFromEnv(apiKeyFront.address, { TEMPORAL_API_KEY: `${API_KEY}-wrong`, TEMPORAL_TLS_CA: pki.caCert }),
    );
    assert.equal(wrongKey.grpcCode, 16);
    await assert.rejects(
      NativeConnection.connect(optionsFromEnv(apiKeyFront.address, { TEMPORAL_API_KEY: `${API_KEY}-wrong`, TEMPORAL_TLS_CA: pki.caCert })),
      /does not have valid authentication credentials/,
    );
    assert.ok(apiKeyFront.unauthenticatedCalls >= unauthenticatedBefore + 3);
  });
});
