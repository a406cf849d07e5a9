import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseRoutingConfig } from '../src/routing-config';

/** What the README shows a user to copy must work as shown. */
describe('README', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

  it('shows a routing config example the service accepts', () => {
    const example = readme.match(/```yaml\n([\s\S]*?)```/)?.[1];
    assert.ok(example, 'the README has a yaml example');
    const config = parseRoutingConfig(parse(example));
    assert.deepEqual(config.tiers.map((t) => t.name), ['vip', 'gold']);
    assert.equal(config.teams['support']?.nextShiftTeam, 'support-americas');
  });

  it('gives npm start and npm test as the commands', () => {
    assert.match(readme, /npm ci && npm start/);
    assert.match(readme, /npm ci && npm test/);
  });
});
