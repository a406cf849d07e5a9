import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyToJSON, type JSONPayload, payloadToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import express from 'express';
import { errorHandler, HttpError } from '../../src/api/errors';
import { mount } from '../../src/api/contract';
import { codecCors, codecRoutes } from '../../src/api/routes/codec-routes';
import { createLogger } from '../../src/observability/logger';
import { AesGcmCodec, CodecError, type CodecKey, generateCodecKey, loadCodecKeys, parseCodecKeys, refusingUnencrypted } from '../../src/security/codec';
import { refusalOf } from '../../src/workflows/refused-payload';
import { routeTemporalLogs } from '../../src/temporal/runtime';
import type { CodecTestActivities, CodecTestContact } from '../fixtures/codec-workflow';
import { acquireTestServers } from '../support/servers';

const EMAIL = 'ana.codec-test@example.com';

function ringKey(id: string): CodecKey {
  return { id, key: randomBytes(32) };
}

const toPayloads = (values: unknown[]): Payload[] => values.map((value) => defaultPayloadConverter.toPayload(value)!);
const fromPayloads = (payloads: Payload[]): unknown[] => payloads.map((payload) => defaultPayloadConverter.fromPayload(payload));
const metadataOf = (payload: Payload): Record<string, string> =>
  Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString()]));
/** Everything a payload puts on the wire, as bytes. */
const wireBytes = (payload: Payload): Buffer => Buffer.from(temporal.api.common.v1.Payload.encode(payload).finish());

describe('AesGcmCodec', () => {
  const k1 = ringKey('k1');
  const k2 = ringKey('k2');
  const values = ['Ana', { firstName: 'Ana', email: EMAIL, text: 'my email is ' + EMAIL }, null, undefined, [1, 'two'], new Uint8Array([1, 2, 3])];

  it('round-trips what the default payload converter makes, its metadata included', async () => {
    const codec = new AesGcmCodec([k1]);
    const original = toPayloads(values);
    const decoded = await codec.decode(await codec.encode(original));
    assert.deepEqual(fromPayloads(decoded), values);
    assert.deepEqual(decoded.map(metadataOf), original.map(metadataOf));
  });

  it('leaves no plaintext in the encoded payload, only the encrypted encoding and the key id', async () => {
    const [encoded] = await new AesGcmCodec([k1]).encode(toPayloads([{ email: EMAIL }]));
    assert.deepEqual(metadataOf(encoded!), { encoding: 'binary/encrypted', 'encryption-key-id': 'k1' });
    assert.equal(wireBytes(encoded!).includes(EMAIL), false);
    assert.equal(wireBytes(encoded!).includes('json/plain'), false, 'the original metadata is encrypted too');
  });

  it('draws a new IV for every encode: the same input never gives the same ciphertext', async () => {
    const codec = new AesGcmCodec([k1]);
    const payload = toPayloads([{ email: EMAIL }]);
    const [first, second] = [...(await codec.encode(payload)), ...(await codec.encode(payload))];
    assert.notDeepEqual(Buffer.from(first!.data!).subarray(0, 12), Buffer.from(second!.data!).subarray(0, 12));
    assert.notDeepEqual(Buffer.from(first!.data!), Buffer.from(second!.data!));
  });

  it('after a rotation encrypts with the new key and still decrypts what the old key encrypted', async () => {
    const before = await new AesGcmCodec([k1]).encode(toPayloads([{ email: EMAIL }]));
    const rotated = new AesGcmCodec([k2, k1]);
    assert.deepEqual(fromPayloads(await rotated.decode(before)), [{ email: EMAIL }]);
    const [after] = await rotated.encode(toPayloads(['x']));
    assert.equal(metadataOf(after!)['encryption-key-id'], 'k2');
  });

  it('refuses a payload whose key is not in the ring, naming that key', async () => {
    const encoded = await new AesGcmCodec([k1]).encode(toPayloads([{ email: EMAIL }]));
    await assert.rejects(new AesGcmCodec([k2]).decode(encoded), (error: Error) => {
      assert.ok(error instanceof CodecError);
      assert.match(error.message, /"k1".*not in the codec key ring \(k2\)/);
      return true;
    });
  });

  it('refuses a payload with any altered byte (IV, ciphertext or tag), naming the key', async () => {
    const codec = new AesGcmCodec([k1]);
    const [encoded] = await codec.encode(toPayloads([{ email: EMAIL }]));
    const length = encoded!.data!.length;
    for (const position of [0, 12, Math.floor(length / 2), length - 1]) {
      const data = Buffer.from(encoded!.data!);
      data[position]! ^= 0x01;
      await assert.rejects(codec.decode([{ ...encoded, data }]), (error: Error) => {
        assert.ok(error instanceof CodecError);
        assert.match(error.message, /key "k1" failed authentication/);
        return true;
      });
    }
    await assert.rejects(codec.decode([{ ...encoded, data: encoded!.data!.subarray(0, 20) }]), /truncated/);
  });

  it('passes unencrypted payloads through decode unchanged, so old histories keep replaying', async () => {
    const plain = toPayloads(values);
    const decoded = await new AesGcmCodec([k1]).decode(plain);
    plain.forEach((payload, i) => assert.equal(decoded[i], payload));
  });

  it("as the worker's codec, gives a refused payload for one that is not encrypted or not under a key of the ring, never an error", async () => {
    const refusals: string[] = [];
    const codec = refusingUnencrypted(new AesGcmCodec([k1]), (reason) => refusals.push(reason));
    const [own] = await codec.encode(toPayloads([{ email: EMAIL }]));
    const [foreign] = await new AesGcmCodec([k2]).encode(toPayloads([{ email: EMAIL }]));
    const [forged] = await new AesGcmCodec([{ id: 'k1', key: randomBytes(32) }]).encode(toPayloads([{ email: EMAIL }]));
    const decoded = fromPayloads(await codec.decode([own!, ...toPayloads([{ email: EMAIL }, null]), foreign!, forged!]));
    assert.deepEqual(decoded[0], { email: EMAIL });
    assert.deepEqual(decoded.slice(1).map(refusalOf), [
      'a payload that is not encrypted',
      'a payload that is not encrypted',
      'a payload is encrypted with key "k2", which is not in the codec key ring (k1)',
      'a payload encrypted with key "k1" failed authentication: it was altered, or the key under that id changed',
    ]);
    assert.equal(refusals.length, 4);
    assert.equal(refusalOf({ email: EMAIL }), undefined);
  });

  it('checks the ring it is given', () => {
    assert.throws(() => new AesGcmCodec([]), /empty/);
    assert.throws(() => new AesGcmCodec([k1, { ...k2, id: 'k1' }]), /"k1" appears more than once/);
    assert.throws(() => new AesGcmCodec([{ id: 'short', key: randomBytes(16) }]), /"short" is 16 bytes; AES-256 needs 32/);
  });
});

describe('parseCodecKeys', () => {
  const a = randomBytes(32).toString('base64');
  const b = randomBytes(32).toString('base64');

  it('reads id:base64key entries separated by commas or lines, skipping blank lines and comments', () => {
    const expected = [
      { id: 'k2', key: Buffer.from(b, 'base64') },
      { id: 'k.1_old-x', key: Buffer.from(a, 'base64') },
    ];
    assert.deepEqual(parseCodecKeys(`k2:${b},k.1_old-x:${a}`), expected);
    assert.deepEqual(parseCodecKeys(`# rotated on Monday, keep k.1 until March\r\n\nk2:${b}\r\n  k.1_old-x:${a}  \n`), expected);
  });

  /** The key part of every entry: what no error may show. */
  const keyMaterialIn = (text: string) =>
    text
      .split(/[,\n]/)
      .map((entry) => entry.slice(entry.indexOf(':') + 1).trim())
      .filter((material) => material.length >= 12);

  const refusals: Array<{ name: string; text: string; message: RegExp }> = [
    { name: 'a key of the wrong length', text: `k1:${a},k2:${randomBytes(16).toString('base64')}`, message: /"k2" is 16 bytes; AES-256 needs 32/ },
    { name: 'a duplicate id', text: `k1:${a}\nk1:${b}`, message: /"k1" appears more than once/ },
    { name: 'bad base64', text: `k1:${a.slice(0, 40)}!!!=`, message: /"k1" is not valid base64/ },
    { name: 'url-safe base64', text: `k1:${a.replace(/\+|\//g, '-').replace(/=$/, '')}-`, message: /"k1" is not valid base64/ },
    { name: 'a key without an id', text: a, message: /entry 1 is not of the form id:base64key/ },
    { name: 'an id with other characters', text: `k1:${a}\nk 2:${b}`, message: /entry 2: the id is invalid/ },
    { name: 'no key at all', text: '# nothing yet\n\n', message: /empty/ },
  ];
  for (const { name, text, message } of refusals) {
    it(`refuses ${name} without printing key material`, () => {
      assert.throws(
        () => parseCodecKeys(text),
        (error: Error) => {
          assert.match(error.message, message);
          for (const material of keyMaterialIn(text)) {
            assert.equal(String(error.stack).includes(material.slice(0, 12)), false, `the error shows key material: ${error.message}`);
          }
          return true;
        },
      );
    });
  }
});

describe('generateCodecKey', () => {
  it('makes a line parseCodecKeys accepts, with a dated id unless given one', () => {
    const [generated] = parseCodecKeys(generateCodecKey());
    assert.match(generated!.id, /^k\d{8}$/);
    assert.equal(generated!.key.length, 32);
    assert.equal(parseCodecKeys(generateCodecKey('k-rotated'))[0]!.id, 'k-rotated');
    assert.notEqual(generateCodecKey('x'), generateCodecKey('x'));
    assert.throws(() => generateCodecKey('no spaces'), /invalid/);
  });
});

describe('loadCodecKeys', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vip-router-codec-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const inline = generateCodecKey('from-env');
  const fromFile = generateCodecKey('from-file');

  it('takes VIP_ROUTER_CODEC_KEYS first, then VIP_ROUTER_CODEC_KEYS_FILE, then the data dir', async () => {
    const keyFile = join(dir, 'keys.txt');
    await writeFile(keyFile, `# ops-managed\n${fromFile}\n`);
    const dataDir = join(dir, 'precedence');
    const env = { VIP_ROUTER_CODEC_KEYS: inline, VIP_ROUTER_CODEC_KEYS_FILE: keyFile };

    const fromEnv = await loadCodecKeys({ env, dataDir, generate: true });
    assert.deepEqual([fromEnv.source, fromEnv.keys.map((k) => k.id)], ['env', ['from-env']]);

    const fileWins = await loadCodecKeys({ env: { ...env, VIP_ROUTER_CODEC_KEYS: '  ' }, dataDir, generate: true });
    assert.deepEqual([fileWins.source, fileWins.path, fileWins.keys.map((k) => k.id)], ['file', keyFile, ['from-file']]);

    const generated = await loadCodecKeys({ env: {}, dataDir, generate: true });
    assert.equal(generated.source, 'generated');
  });

  it('creates <dataDir>/codec-keys once, readable by its owner only, and reuses it', async () => {
    const dataDir = join(dir, 'data');
    const first = await loadCodecKeys({ env: {}, dataDir, generate: true });
    assert.equal(first.source, 'generated');
    assert.equal(first.path, join(dataDir, 'codec-keys'));
    assert.equal((await stat(first.path!)).mode & 0o777, 0o600);
    assert.equal(first.keys.length, 1);
    assert.match(first.keys[0]!.id, /^k\d{8}$/);

    const again = await loadCodecKeys({ env: {}, dataDir, generate: true });
    assert.equal(again.source, 'data-dir');
    assert.deepEqual(again.keys, first.keys);
    assert.match(await readFile(first.path!, 'utf8'), /^# .*\n(#.*\n)*k\d{8}:[A-Za-z0-9+/]{43}=\n$/);
  });

  it('gives two processes starting together the same generated key', async () => {
    const dataDir = join(dir, 'race');
    const both = await Promise.all([loadCodecKeys({ env: {}, dataDir, generate: true }), loadCodecKeys({ env: {}, dataDir, generate: true })]);
    assert.deepEqual(both.map((loaded) => loaded.source).sort(), ['data-dir', 'generated']);
    assert.deepEqual(both[0].keys, both[1].keys);
  });

  it('says what to set when no key is configured and none may be generated', async () => {
    await assert.rejects(loadCodecKeys({ env: {}, dataDir: join(dir, 'none'), generate: false }), /set VIP_ROUTER_CODEC_KEYS .* or VIP_ROUTER_CODEC_KEYS_FILE/);
    await assert.rejects(loadCodecKeys({ env: {}, generate: true }), /set VIP_ROUTER_CODEC_KEYS/);
  });

  it('names where a bad key came from, and a key file it cannot read', async () => {
    const short = `k1:${randomBytes(16).toString('base64')}`;
    await assert.rejects(loadCodecKeys({ env: { VIP_ROUTER_CODEC_KEYS: short }, generate: false }), (error: Error) => {
      assert.match(error.message, /^VIP_ROUTER_CODEC_KEYS: codec key "k1" is 16 bytes/);
      assert.equal(error.message.includes(short.slice(3, 15)), false);
      return true;
    });
    const missing = join(dir, 'missing-keys');
    await assert.rejects(loadCodecKeys({ env: { VIP_ROUTER_CODEC_KEYS_FILE: missing }, generate: false }), new RegExp(`cannot read ${missing}: ENOENT`));
  });
});

describe('codec server endpoints, called the way Temporal UI calls them', () => {
  const UI_ORIGIN = 'http://localhost:8233';
  const TOKEN = 'Bearer test-token';
  const k1 = ringKey('k1');
  const codec = new AesGcmCodec([k1]);
  let server: Server;
  let base: string;

  before(async () => {
    const app = express();
    // What the API puts between the two: authentication, which a preflight must never reach.
    const requireToken: express.RequestHandler = (req, _res, next) => {
      next(req.get('authorization') === TOKEN ? undefined : new HttpError(401, 'unauthorized', 'a codec key is required'));
    };
    const anyone: express.RequestHandler = (_req, _res, next) => next();
    app.use('/codec', codecCors([`${UI_ORIGIN}/`]), requireToken, mount(codecRoutes, { codec }, { under: '/codec', guard: () => [anyone] }));
    app.use(errorHandler(createLogger('silent')));
    server = createServer(app);
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/codec`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  const uiHeaders = (origin = UI_ORIGIN) => ({
    Origin: origin,
    'Content-Type': 'application/json',
    'X-Namespace': 'default',
    Authorization: TOKEN,
    'Authorization-Extras': 'id-token',
  });

  function preflight(path: string, origin: string): Promise<Response> {
    return fetch(`${base}${path}`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,authorization-extras,content-type,x-namespace',
      },
    });
  }

  async function post(path: string, body: unknown, headers: Record<string, string> = uiHeaders()): Promise<{ status: number; headers: Headers; body: any }> {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  const corsHeaders = (headers: Headers) => [...headers.keys()].filter((name) => name.startsWith('access-control-'));

  it('answers the preflight itself, before auth, allowing every header Temporal UI sends', async () => {
    const response = await preflight('/decode', UI_ORIGIN);
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
    assert.match(response.headers.get('access-control-allow-methods')!, /\bPOST\b/);
    const allowed = response.headers.get('access-control-allow-headers')!.split(/,\s*/);
    for (const header of ['content-type', 'x-namespace', 'authorization', 'authorization-extras']) assert.ok(allowed.includes(header), header);
    assert.match(response.headers.get('vary')!, /Origin/);
  });

  it('decodes a history payload for the UI, with CORS headers on the answer', async () => {
    const values = [{ firstName: 'Ana', email: EMAIL }, null, 'hello'];
    const original = toPayloads(values);
    const encoded = await codec.encode(original);
    const response = await post('/decode', { payloads: encoded.map(payloadToJSON) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
    assert.deepEqual(response.body, { payloads: original.map(payloadToJSON) });
  });

  it('encodes what the UI sends (a signal input), so that decode gives it back', async () => {
    const original = toPayloads([{ text: `reply from ${EMAIL}` }]).map(payloadToJSON);
    const encoded = await post('/encode', { payloads: original });
    assert.equal(encoded.status, 200);
    const [payload] = encoded.body.payloads as JSONPayload[];
    assert.equal(Buffer.from(payload!.metadata!['encoding']!, 'base64').toString(), 'binary/encrypted');
    assert.equal(Buffer.from(payload!.data!, 'base64').includes(EMAIL), false);
    assert.deepEqual((await post('/decode', encoded.body)).body, { payloads: original });
  });

  it('accepts empty payloads and the unpadded, url-safe base64 other proto3 JSON encoders write', async () => {
    const data = Buffer.from([0xfb, 0xff]);
    const response = await post('/decode', { payloads: [{}, { metadata: { encoding: 'YmluYXJ5L3BsYWlu' }, data: data.toString('base64url') }] });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { payloads: [{}, { metadata: { encoding: 'YmluYXJ5L3BsYWlu' }, data: data.toString('base64') }] });
  });

  it('gives other origins no CORS headers, on the preflight or the request', async () => {
    const refused = await preflight('/decode', 'https://evil.example');
    assert.equal(refused.status, 204);
    assert.deepEqual(corsHeaders(refused.headers), []);
    const response = await post('/decode', { payloads: [] }, uiHeaders('https://evil.example'));
    assert.deepEqual(corsHeaders(response.headers), []);
  });

  it('still requires auth for the requests themselves', async () => {
    const response = await post('/decode', { payloads: [] }, { ...uiHeaders(), Authorization: 'Bearer someone-else' });
    assert.equal(response.status, 401);
  });

  it('answers bad bodies with 400 and the JSON error shape', async () => {
    const cases: Array<[unknown, string]> = [
      [{ payloads: 'not an array' }, 'validation_failed'],
      [{}, 'validation_failed'],
      [{ payloads: [{ data: 'not base64!' }] }, 'validation_failed'],
      [{ payloads: [{ metadata: { encoding: 5 } }] }, 'validation_failed'],
      [{ payloads: [{ externalPayloads: [{ sizeBytes: '99999999999999999999999' }] }] }, 'validation_failed'],
      ['{"payloads": [', 'invalid_json'],
    ];
    for (const [body, code] of cases) {
      const response = await post('/decode', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error.code, code, JSON.stringify(response.body));
    }
  });

  it('answers a tampered payload with 400 codec_failed, naming the key but never its material', async () => {
    const [encoded] = await codec.encode(toPayloads([{ email: EMAIL }]));
    const data = Buffer.from(encoded!.data!);
    data[20]! ^= 0xff;
    const response = await post('/decode', { payloads: [payloadToJSON({ ...encoded, data })] });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, 'codec_failed');
    assert.match(response.body.error.message, /"k1"/);
    const text = JSON.stringify(response.body);
    assert.equal(text.includes(k1.key.toString('base64').slice(0, 12)) || text.includes(k1.key.toString('hex').slice(0, 12)), false);
  });
});

describe('the codec on a real Temporal server', () => {
  const codec = new AesGcmCodec([ringKey('k-integration')]);
  const activities: CodecTestActivities = { greetingFor: async ({ firstName, email }) => `Hello ${firstName}, we will write to ${email}` };
  let release: () => Promise<void>;
  let clientConnection: Connection;
  let workerConnection: NativeConnection;
  let workflowBundle: WorkflowBundle;

  before(async () => {
    routeTemporalLogs(createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent'));
    const acquired = await acquireTestServers();
    release = acquired.release;
    clientConnection = await Connection.connect({ address: acquired.servers.temporalAddress });
    workerConnection = await NativeConnection.connect({ address: acquired.servers.temporalAddress });
    workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../fixtures/codec-workflow'), logger: new DefaultLogger('WARN') });
  });
  after(async () => {
    await clientConnection?.close();
    await workerConnection?.close();
    await release?.();
  });

  /** Runs greetContact on its own worker and returns what the codec-less client sees of the run. */
  async function runGreeting(withCodec: boolean) {
    const taskQueue = `codec-test-${randomUUID()}`;
    const workflowId = `codec-test-${randomUUID()}`;
    const dataConverter = withCodec ? { payloadCodecs: [codec] } : undefined;
    const worker = await Worker.create({ connection: workerConnection, taskQueue, workflowBundle, activities, dataConverter });
    const client = new Client({ connection: clientConnection, dataConverter });
    const contact: CodecTestContact = { firstName: 'Ana', email: EMAIL };
    const result = await worker.runUntil(client.workflow.execute('greetContact', { taskQueue, workflowId, args: [contact] }));
    const history = await new Client({ connection: clientConnection }).workflow.getHandle(workflowId).fetchHistory();
    return { workflowId, result, history, json: historyToJSON(history), bytes: Buffer.from(temporal.api.history.v1.History.encode(history).finish()) };
  }

  /** The `encoding` of every payload in a history. */
  function encodingsIn(node: unknown, found: string[] = []): string[] {
    if (Array.isArray(node)) node.forEach((child) => encodingsIn(child, found));
    else if (node && typeof node === 'object') {
      const encoding = (node as JSONPayload).metadata?.['encoding'];
      if (encoding) found.push(Buffer.from(encoding, 'base64').toString());
      Object.values(node).forEach((child) => encodingsIn(child, found));
    }
    return found;
  }

  it('without the codec, the email is in the history in clear (what the next test must not find)', async () => {
    const { bytes } = await runGreeting(false);
    assert.ok(bytes.includes(EMAIL));
  });

  it('keeps the email out of the stored history; a client with the codec reads the result; replay decodes it', async () => {
    const { workflowId, result, history, json, bytes } = await runGreeting(true);
    assert.deepEqual(result, { greeting: `Hello Ana, we will write to ${EMAIL}`, email: EMAIL });

    assert.equal(json.includes(EMAIL), false);
    assert.equal(bytes.includes(EMAIL), false, 'the email appears in the raw history bytes');
    const encodings = encodingsIn(JSON.parse(json));
    assert.ok(encodings.length >= 4, `input, activity input and result, result: found ${encodings.length} payloads`);
    assert.deepEqual(new Set(encodings), new Set(['binary/encrypted']));

    await Worker.runReplayHistory({ workflowBundle, dataConverter: { payloadCodecs: [codec] } }, history, workflowId);
    await assert.rejects(Worker.runReplayHistory({ workflowBundle }, history, workflowId), /Unknown encoding: binary\/encrypted/, 'replay without the codec cannot read the input');
  });
});
