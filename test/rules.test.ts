import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadRoutingConfigFile, parseRoutingConfig } from '../src/routing-config';
import { assignmentChain, crmBackoff, extractEmail, isValidEmail, tierFor } from '../src/workflows/rules';
import { fillTemplate } from '../src/workflows/template';

describe('email validation', () => {
  it('accepts addresses people use and refuses the rest', () => {
    for (const ok of ['ana@example.com', 'a.b+tag@mail.example.co.uk', 'X_Y@EXAMPLE.ORG']) assert.ok(isValidEmail(ok), ok);
    for (const bad of ['', 'ana', 'ana@', '@example.com', 'ana@example', 'ana@@example.com', 'ana@exa mple.com', '.ana@example.com', 'a..b@example.com', 'ana@-example.com']) {
      assert.ok(!isValidEmail(bad), bad);
    }
  });

  it('extracts the one address from a reply sentence, lower-cased', () => {
    assert.equal(extractEmail('  Ana@Example.com '), 'ana@example.com');
    assert.equal(extractEmail("sure, it's ana@example.com."), 'ana@example.com');
    assert.equal(extractEmail('<ana@example.com>'), 'ana@example.com');
    assert.equal(extractEmail('ana@example.com or bob@example.com'), undefined, 'two addresses are ambiguous');
    assert.equal(extractEmail('ana@example.com, ANA@example.com'), 'ana@example.com', 'the same address twice is one');
    assert.equal(extractEmail('no email here'), undefined);
  });
});

describe('routing config', () => {
  it('has the defaults of the spec', () => {
    const config = parseRoutingConfig({});
    assert.deepEqual(config.tiers.map((t) => [t.name, t.customerTypes]), [['vip', ['VIP']]]);
    assert.deepEqual(config.regular.teams, ['support']);
    assert.equal(config.assignment.defaultStrategy, 'least_open');
    assert.equal(config.assignment.onlineOnly, true);
    assert.equal(config.askEmail.maxReAsks, 3);
    assert.equal(config.askEmail.replyTimeout, 24 * 3600 * 1000);
    assert.equal(config.escalation.role, 'manager');
  });

  it('reads durations and refuses unknown keys and bad values with their paths', () => {
    assert.equal(parseRoutingConfig({ askEmail: { replyTimeout: '90m' } }).askEmail.replyTimeout, 90 * 60 * 1000);
    assert.throws(() => parseRoutingConfig({ askEmail: { replyTimeout: 'soon' } }), (e: Error) => e instanceof ConfigError && /askEmail\.replyTimeout/.test(e.message));
    assert.throws(() => parseRoutingConfig({ tiers: [{ name: 'vip', customerTypes: [] }] }), /tiers\.0\.customerTypes/);
    assert.throws(() => parseRoutingConfig({ assignmnet: {} }), /Unrecognized key/);
    assert.throws(() => parseRoutingConfig({ assignment: { defaultStrategy: 'random' } }), /assignment\.defaultStrategy/);
  });
});

describe('tiers and chains', () => {
  const config = parseRoutingConfig({
    tiers: [
      { name: 'vip', customerTypes: ['VIP'], useAccountManager: true, teams: ['vip'], managerFallback: true, priority: 10 },
      { name: 'gold', customerTypes: ['Gold', 'Platinum'], dedicatedAgentId: 'gia', teams: ['gold', 'support'], priority: 5 },
    ],
    assignment: { teamStrategies: { gold: 'round_robin' } },
  });

  it('maps customer types to tiers, anything else to regular', () => {
    assert.equal(tierFor('VIP', config).name, 'vip');
    assert.equal(tierFor('Platinum', config).name, 'gold');
    assert.equal(tierFor('vip', config).name, 'regular', 'customer types match exactly');
    assert.equal(tierFor(undefined, config).name, 'regular');
    assert.equal(tierFor(42, config).name, 'regular');
  });

  it('builds the VIP chain: account manager, VIP team, then a manager', () => {
    assert.deepEqual(
      assignmentChain(tierFor('VIP', config), { accountManager: 'alex' }, config).map((t) => [t.kind, t.via]),
      [['agent', 'account_manager'], ['team', 'team'], ['role', 'manager']],
    );
    assert.deepEqual(assignmentChain(tierFor('VIP', config), {}, config).map((t) => t.kind), ['team', 'role']);
  });

  it('uses per-team strategies and the configured dedicated agent', () => {
    const chain = assignmentChain(tierFor('Gold', config), {}, config);
    assert.deepEqual(chain, [
      { kind: 'agent', agentId: 'gia', via: 'dedicated_agent' },
      { kind: 'team', team: 'gold', strategy: 'round_robin', via: 'team' },
      { kind: 'team', team: 'support', strategy: 'least_open', via: 'team' },
    ]);
  });

  it('backs off exponentially up to the cap', () => {
    const retry = { maxAttempts: 6, initialInterval: 1000, backoffCoefficient: 2, maxInterval: 5000 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => crmBackoff(n, retry)), [1000, 2000, 4000, 5000, 5000]);
  });
});

describe('templates', () => {
  it('fills nested placeholders and encodes where asked', () => {
    assert.equal(fillTemplate('{{contact.id}}/{{email}}', { contact: { id: 'c 1' }, email: 'a+b@x.co' }, encodeURIComponent), 'c%201/a%2Bb%40x.co');
    assert.equal(fillTemplate('Hi {{firstName}}!', {}), 'Hi !');
  });
});

describe('routing config file', () => {
  it('ships config/routing.yaml equal to the spec defaults', () => {
    const shipped = loadRoutingConfigFile(join(__dirname, '..', 'config', 'routing.yaml'));
    assert.deepEqual(shipped, parseRoutingConfig({}));
  });

  it('refuses to start on an invalid file, naming the file and the bad keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-'));
    const path = join(dir, 'routing.yaml');
    writeFileSync(path, 'askEmail:\n  maxReAsks: many\ncrm:\n  timeout: later\n');
    assert.throws(
      () => loadRoutingConfigFile(path),
      (error: Error) => error instanceof ConfigError && error.message.includes(path) && /askEmail\.maxReAsks/.test(error.message) && /crm\.timeout/.test(error.message),
    );
    assert.throws(() => loadRoutingConfigFile(join(dir, 'missing.yaml')), /cannot read routing config/);
  });
});
