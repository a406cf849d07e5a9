import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporalUiConfig } from '../../tools/cluster/temporal-ui';

/** What tools/cluster/temporal-ui.ts tells Temporal UI's server; test/tools/cluster/temporal-ui.test.ts runs it. */
describe("Temporal UI server's config", () => {
  it('points at the frontend, verifies its certificate, serves over plain HTTP without auth, and reaches nothing outside', () => {
    const config = temporalUiConfig(
      {
        binary: 'ui-server',
        address: '127.0.0.1:7233',
        namespace: 'vip',
        dir: '/unused',
        tls: { caFile: '/pki/ca.crt', certFile: '/pki/client.crt', keyFile: '/pki/client.key', serverName: 'temporal-frontend' },
        codecEndpoint: 'http://127.0.0.1:3000/codec/ui/key',
        corsOrigins: ['http://127.0.0.1:3000'],
        publicPath: 'temporal/',
      },
      8233,
    );
    assert.equal(config['temporalGrpcAddress'], '127.0.0.1:7233');
    assert.equal(config['host'], '127.0.0.1');
    assert.equal(config['port'], 8233);
    assert.equal(config['publicPath'], '/temporal');
    assert.equal(config['defaultNamespace'], 'vip');
    assert.deepEqual(config['tls'], {
      caFile: '/pki/ca.crt',
      certFile: '/pki/client.crt',
      keyFile: '/pki/client.key',
      serverName: 'temporal-frontend',
      enableHostVerification: true,
    });
    assert.deepEqual(config['codec'], { endpoint: 'http://127.0.0.1:3000/codec/ui/key' });
    assert.deepEqual(config['cors'], { allowOrigins: ['http://127.0.0.1:3000'], unsafeAllowAllOrigins: false, cookieInsecure: true });
    assert.deepEqual(config['auth'], { enabled: false });
    assert.equal(config['disableNewsFetch'], true);
    assert.equal(config['notifyOnNewVersion'], false);
    assert.equal(temporalUiConfig({ binary: 'b', address: 'a:1', dir: '/d' }, 1)['tls'], undefined);
  });
});
