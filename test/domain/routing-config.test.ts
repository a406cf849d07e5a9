import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadRoutingConfigFile, parseRoutingConfig } from '../../src/domain/routing-config';
import { agingOf, capacityDefaults, crmBackoff, describeTarget, durationInWords, extractEmail, isValidEmail, resolveChain, stepsAfter, tierFor } from '../../src/workflows/rules';
import { isOnShift, nextShiftChange, nextShiftEnd } from '../../src/workflows/shifts';
import { fillTemplate } from '../../src/workflows/template';
import { textsFor, textsLanguage } from '../../src/workflows/texts';
import { SHIPPED_MESSAGES, waitWords } from '../../src/domain/routing-texts';
import { REPO_ROOT } from '../../tools/repo';

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
    assert.deepEqual(config.tiers.map((t) => [t.name, t.customerTypes, t.chain.map((s) => s.kind)]), [['vip', ['VIP'], ['account_manager', 'team', 'manager']]]);
    assert.deepEqual(config.regular.chain, [{ kind: 'team', team: 'support', wait: 0 }]);
    assert.equal(config.assignment.defaultStrategy, 'least_open');
    assert.equal(config.assignment.onlineOnly, true);
    assert.equal(config.askEmail.maxReAsks, 3);
    assert.equal(config.askEmail.replyTimeout, 24 * 3600 * 1000);
    assert.equal(config.escalation.role, 'manager');
  });

  it('reads durations and refuses unknown keys and bad values with their paths', () => {
    assert.equal(parseRoutingConfig({ askEmail: { replyTimeout: '90m' } }).askEmail.replyTimeout, 90 * 60 * 1000);
    assert.throws(() => parseRoutingConfig({ askEmail: { replyTimeout: 'soon' } }), (e: Error) => e instanceof ConfigError && /askEmail\.replyTimeout/.test(e.message));
    assert.throws(() => parseRoutingConfig({ tiers: [{ name: 'vip', customerTypes: [], chain: [{ kind: 'manager' }] }] }), /tiers\.0\.customerTypes/);
    assert.throws(() => parseRoutingConfig({ teams: { night: { shift: { timezone: 'Mars/Olympus', start: '22:00', end: '06:00' } } } }), /teams\.night\.shift\.timezone/);
    assert.throws(() => parseRoutingConfig({ teams: { day: { nextShiftTeam: 'night' } } }), /a next shift needs a shift/);
    assert.throws(() => parseRoutingConfig({ assignmnet: {} }), /Unrecognized key/);
    assert.throws(() => parseRoutingConfig({ assignment: { defaultStrategy: 'random' } }), /assignment\.defaultStrategy/);
  });
});

describe('first-response times', () => {
  it('reads them on a tier, on regular and on the escalation path; unset, there is none', () => {
    const defaults = parseRoutingConfig({});
    assert.deepEqual([defaults.tiers[0]!.firstResponse, defaults.regular.firstResponse, defaults.escalation.firstResponse], [undefined, undefined, undefined]);
    const config = parseRoutingConfig({
      tiers: [{ name: 'vip', customerTypes: ['VIP'], chain: [{ kind: 'manager' }], firstResponse: '5m' }],
      regular: { firstResponse: '30m' },
      escalation: { firstResponse: 600_000 },
    });
    assert.deepEqual([config.tiers[0]!.firstResponse, config.regular.firstResponse, config.escalation.firstResponse], [300_000, 1_800_000, 600_000]);
  });

  it('refuses a time that is not one, or under a second, naming the place', () => {
    const refused = (raw: unknown, place: RegExp) => assert.throws(() => parseRoutingConfig(raw), (e: Error) => e instanceof ConfigError && place.test(e.message));
    refused({ tiers: [{ name: 'vip', customerTypes: ['VIP'], chain: [{ kind: 'manager' }], firstResponse: 'soon' }] }, /tiers\.0\.firstResponse: not a duration/);
    refused({ regular: { firstResponse: '0s' } }, /regular\.firstResponse: a first-response time is at least 1s/);
    refused({ escalation: { firstResponse: 500 } }, /escalation\.firstResponse: a first-response time is at least 1s/);
  });

  it('moves a missed conversation to the chain step after the one that gave it out, then to the escalation path', () => {
    const config = parseRoutingConfig({ tiers: [{ name: 'vip', customerTypes: ['VIP'], chain: [{ kind: 'account_manager' }, { kind: 'team', team: 'vip' }] }] });
    const chain = resolveChain(config.tiers[0]!.chain, { crmFields: { accountManager: 'alex' } }, config);
    const by = (agentId: string, team: string, via: 'account_manager' | 'team' | 'escalation' | 'platform') => ({ agentId, name: agentId, team, via, strategy: 'direct' as const });
    const next = (routedBy: ReturnType<typeof by>) => {
      const { steps, escalates } = stepsAfter(chain, routedBy, config);
      return [steps.map((step) => describeTarget(step.target)), escalates];
    };
    assert.deepEqual(next(by('alex', 'vip', 'account_manager')), [['team vip'], false]);
    assert.deepEqual(next(by('vera', 'vip', 'team')), [['any manager'], true]);
    assert.deepEqual(next(by('maria', 'managers', 'escalation')), [['any manager'], false], 'a manager who missed: another manager');
    assert.deepEqual(next(by('pat', 'support', 'platform')), [['account manager alex', 'team vip'], false], 'not given out by the chain: its start');
  });

  it('says the time in the note’s language', () => {
    assert.equal(durationInWords(300_000), '5 minutes');
    assert.equal(durationInWords(60_000, 'es'), '1 minuto');
    assert.equal(durationInWords(7_200_000, 'pt'), '2 horas');
    assert.equal(durationInWords(90_000, 'fr'), '90 seconds', 'a language without words: English');
    assert.equal(fillTemplate(SHIPPED_MESSAGES.es.firstResponseMissed, { agent: 'Alex', within: durationInWords(300_000, 'es') }), 'Reasignado: Alex no respondió en 5 minutos.');
  });
});

describe('tiers and chains', () => {
  const config = parseRoutingConfig({
    tiers: [
      {
        name: 'vip',
        customerTypes: ['VIP'],
        chain: [{ kind: 'account_manager', wait: '2m' }, { kind: 'last_agent', withinDays: 14 }, { kind: 'team', team: 'vip', wait: '5m' }, { kind: 'manager' }],
        priority: 10,
      },
      { name: 'gold', customerTypes: ['Gold', 'Platinum'], chain: [{ kind: 'agent', agentId: 'gia' }, { kind: 'team', team: 'gold' }, { kind: 'team', team: 'support' }], priority: 5 },
    ],
    teams: { gold: { strategy: 'round_robin', onlineOnly: false, defaultCapacity: 3 } },
  });

  it('maps customer types to tiers, anything else to regular', () => {
    assert.equal(tierFor('VIP', config).name, 'vip');
    assert.equal(tierFor('Platinum', config).name, 'gold');
    assert.equal(tierFor('vip', config).name, 'regular', 'customer types match exactly');
    assert.equal(tierFor(undefined, config).name, 'regular');
    assert.equal(tierFor(42, config).name, 'regular');
  });

  it('resolves the VIP chain with its waits; steps naming nobody drop out', () => {
    const full = resolveChain(tierFor('VIP', config).chain, { crmFields: { accountManager: 'alex' }, lastAgentId: 'lena' }, config);
    assert.deepEqual(
      full.map((s) => [describeTarget(s.target), s.wait]),
      [['account manager alex', 120_000], ['last agent lena', 0], ['team vip', 300_000], ['any manager', 0]],
    );
    const bare = resolveChain(tierFor('VIP', config).chain, { crmFields: {} }, config);
    assert.deepEqual(bare.map((s) => s.target.kind), ['team', 'role']);
  });

  it('gives team targets their own strategy and presence rule, and teams their default capacity', () => {
    const chain = resolveChain(tierFor('Gold', config).chain, { crmFields: {} }, config).map((s) => s.target);
    assert.deepEqual(chain, [
      { kind: 'agent', agentId: 'gia', via: 'dedicated_agent' },
      { kind: 'team', team: 'gold', strategy: 'round_robin', onlineOnly: false, via: 'team' },
      { kind: 'team', team: 'support', strategy: 'least_open', onlineOnly: true, via: 'team' },
    ]);
    assert.deepEqual(capacityDefaults(config), { byTeam: { gold: 3 }, fallback: 5 });
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
    const shipped = loadRoutingConfigFile(join(REPO_ROOT, 'config', 'routing.yaml'));
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

describe('shift calendar', () => {
  const at = (iso: string) => Date.parse(iso);
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const office = { timezone: 'Europe/Madrid', days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, start: '09:00', end: '17:00' };
  const weekdays = { ...office, days: [...office.days] };

  it('knows office hours in the team time zone', () => {
    assert.equal(isOnShift(weekdays, at('2026-11-27T08:30:00Z')), true, 'Friday 09:30 in Madrid');
    assert.equal(isOnShift(weekdays, at('2026-11-27T07:59:00Z')), false, 'Friday 08:59 in Madrid');
    assert.equal(isOnShift(weekdays, at('2026-11-28T10:00:00Z')), false, 'Saturday');
  });

  it('finds the next change: end of today, then Monday morning', () => {
    assert.equal(iso(nextShiftChange(weekdays, at('2026-11-27T08:30:00Z'))), '2026-11-27T16:00:00.000Z');
    assert.equal(iso(nextShiftChange(weekdays, at('2026-11-27T16:30:00Z'))), '2026-11-30T08:00:00.000Z');
  });

  it('runs a night shift past midnight, counted on the day it starts', () => {
    const night = { timezone: 'UTC', days: ['mon' as const], start: '22:00', end: '06:00' };
    assert.equal(isOnShift(night, at('2026-11-30T23:00:00Z')), true, 'Monday 23:00');
    assert.equal(isOnShift(night, at('2026-12-01T05:00:00Z')), true, 'Tuesday 05:00, still Monday night');
    assert.equal(isOnShift(night, at('2026-12-01T23:00:00Z')), false, 'Tuesday night is not worked');
    assert.equal(iso(nextShiftChange(night, at('2026-11-30T23:00:00Z'))), '2026-12-01T06:00:00.000Z');
  });

  it('follows daylight saving time', () => {
    const daily = { timezone: 'Europe/Madrid', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as Array<'mon'>, start: '09:00', end: '17:00' };
    // Saturday 24 October 2026 is summer time (UTC+2); Sunday 25 October is winter time (UTC+1).
    assert.equal(iso(nextShiftChange(daily, at('2026-10-24T06:00:00Z'))), '2026-10-24T07:00:00.000Z');
    assert.equal(iso(nextShiftChange(daily, at('2026-10-24T16:00:00Z'))), '2026-10-25T08:00:00.000Z');
  });
});

describe('shift end', () => {
  it('is the end of the shift in force, or off shift, of the next one', () => {
    const shift = { timezone: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri'] as Array<'mon'>, start: '09:00', end: '17:00' };
    assert.equal(new Date(nextShiftEnd(shift, Date.parse('2026-11-27T10:00:00Z'))!).toISOString(), '2026-11-27T17:00:00.000Z');
    assert.equal(new Date(nextShiftEnd(shift, Date.parse('2026-11-27T18:00:00Z'))!).toISOString(), '2026-11-30T17:00:00.000Z');
  });
});

describe('texts per language', () => {
  it('ships English, Spanish and Portuguese, and falls back to the configured language', () => {
    const config = parseRoutingConfig({});
    assert.deepEqual(Object.keys(config.askEmail.messages).sort(), ['en', 'es', 'pt']);
    assert.equal(textsFor(config.askEmail, 'es').question, SHIPPED_MESSAGES.es.question);
    assert.equal(textsFor(config.askEmail, 'pt').success, SHIPPED_MESSAGES.pt.success);
    assert.equal(textsFor(config.askEmail, 'de').question, SHIPPED_MESSAGES.en.question, 'no German texts: English');
    assert.equal(textsFor(config.askEmail, undefined).question, SHIPPED_MESSAGES.en.question);
    const spanishFirst = parseRoutingConfig({ askEmail: { fallbackLanguage: 'es' } });
    assert.equal(textsFor(spanishFirst.askEmail, 'de').question, SHIPPED_MESSAGES.es.question);
  });

  it('lets routing.yaml override any text of any language and add languages', () => {
    const config = parseRoutingConfig({
      askEmail: {
        messages: {
          es: { question: '¿Cuál es tu correo, {{firstName}}?' },
          fr: { question: 'Quelle est votre adresse e-mail ?', success: 'Merci !' },
        },
      },
    });
    const es = textsFor(config.askEmail, 'es');
    assert.equal(es.question, '¿Cuál es tu correo, {{firstName}}?');
    assert.equal(es.success, SHIPPED_MESSAGES.es.success, 'texts not overridden stay shipped');
    const fr = textsFor(config.askEmail, 'fr');
    assert.deepEqual([fr.question, fr.success, fr.invalid], ['Quelle est votre adresse e-mail ?', 'Merci !', SHIPPED_MESSAGES.en.invalid]);
  });

  it('reads the single set of texts written before there were languages as the fallback language', () => {
    const config = parseRoutingConfig({ askEmail: { messages: { question: 'Your email, please?' } } });
    assert.equal(textsFor(config.askEmail, 'en').question, 'Your email, please?');
    assert.equal(textsFor(config.askEmail, 'es').question, SHIPPED_MESSAGES.es.question);
  });

  it('gives runs started before languages their one set of texts', () => {
    const legacy = { question: 'Q', invalid: 'I', success: 'S', escalationNote: 'E' };
    const texts = textsFor({ ...parseRoutingConfig({}).askEmail, messages: legacy as never }, 'es');
    assert.deepEqual([texts.question, texts.invalid, texts.success, texts.escalationNote], ['Q', 'I', 'S', 'E']);
    assert.equal(texts.escalationNoReply, 'the contact did not reply to the email question');
  });

  it('refuses unknown text names, bad language codes and a fallback without texts', () => {
    assert.throws(() => parseRoutingConfig({ askEmail: { messages: { es: { greeting: 'hola' } } } }), /askEmail\.messages\.es/);
    assert.throws(() => parseRoutingConfig({ askEmail: { messages: { Spanish: { question: 'hola' } } } }), /askEmail\.messages/);
    assert.throws(() => parseRoutingConfig({ askEmail: { fallbackLanguage: 'de' } }), /no texts for de/);
  });
});

describe('the queue: notices and aging', () => {
  it('is off unless set: no queue key, no aging on any tier', () => {
    const config = parseRoutingConfig({});
    assert.equal(config.queue, undefined);
    assert.equal(agingOf(config.regular, config), undefined);
    assert.equal(agingOf(config.tiers[0]!, config), undefined);
  });

  it('reads queue.notifyContact, notifyEvery (15m by default) and aging, and lets a tier age its own way', () => {
    const config = parseRoutingConfig({
      queue: { notifyContact: true, aging: { points: 1, every: '10m' } },
      tiers: [{ name: 'vip', customerTypes: ['VIP'], priority: 10, chain: [{ kind: 'manager' }], aging: { points: 0, every: '1h' } }],
    });
    assert.deepEqual(config.queue, { notifyContact: true, notifyEvery: 15 * 60_000, aging: { points: 1, every: 10 * 60_000 } });
    assert.deepEqual(agingOf(config.regular, config), { points: 1, every: 10 * 60_000 }, 'the queue\'s aging');
    assert.deepEqual(agingOf(config.tiers[0]!, config), { points: 0, every: 3_600_000 }, 'the tier\'s own');
    assert.deepEqual(parseRoutingConfig({ regular: { aging: { points: 2, every: '5m' } } }).regular.aging, { points: 2, every: 300_000 });
    assert.equal(parseRoutingConfig({ queue: { aging: { points: 1, every: '10m' } } }).queue?.notifyContact, false);
  });

  it('refuses bad queue settings, naming the place', () => {
    const refuses = (raw: unknown, place: RegExp) =>
      assert.throws(() => parseRoutingConfig(raw), (e: Error) => e instanceof ConfigError && place.test(e.message), `${JSON.stringify(raw)}: ${place}`);
    refuses({ queue: { notifyEvery: '10s' } }, /queue\.notifyEvery: at least 1m/);
    refuses({ queue: { notifyEvery: 'often' } }, /queue\.notifyEvery: not a duration/);
    refuses({ queue: { notifyContact: 'yes' } }, /queue\.notifyContact/);
    refuses({ queue: { aging: { points: 1 } } }, /queue\.aging\.every/);
    refuses({ queue: { aging: { points: 1, every: '500ms' } } }, /queue\.aging\.every: at least 1s/);
    refuses({ queue: { aging: { points: -1, every: '10m' } } }, /queue\.aging\.points/);
    refuses({ queue: { aging: { points: 1.5, every: '10m' } } }, /queue\.aging\.points/);
    refuses({ queue: { notify: true } }, /queue: Unrecognized key/);
    refuses({ tiers: [{ name: 'vip', customerTypes: ['VIP'], chain: [{ kind: 'manager' }], aging: { points: 1, every: 'soon' } }] }, /tiers\.0\.aging\.every/);
    refuses({ regular: { aging: { every: '10m' } } }, /regular\.aging\.points/);
  });

  it('ships the queue notices in English, Spanish and Portuguese, overridable, with the wait in the texts\' language', () => {
    const config = parseRoutingConfig({ askEmail: { messages: { es: { queued: 'Espera: {{wait}}' }, fr: { question: 'Bonjour ?' } } } });
    assert.equal(textsFor(config.askEmail, 'es').queued, 'Espera: {{wait}}');
    assert.equal(textsFor(config.askEmail, 'pt').queuedFewMinutes, SHIPPED_MESSAGES.pt.queuedFewMinutes);
    assert.equal(textsFor(config.askEmail, 'fr').queued, SHIPPED_MESSAGES.en.queued, 'a language without its own notice gets the fallback\'s');
    for (const texts of Object.values(SHIPPED_MESSAGES)) {
      assert.match(texts.queued, /\{\{wait\}\}/);
      assert.doesNotMatch(texts.queuedFewMinutes, /\{\{wait\}\}/);
    }
    assert.equal(textsLanguage(config.askEmail, 'es'), 'es');
    assert.equal(textsLanguage(config.askEmail, 'de'), 'en');
    assert.equal(waitWords({ value: 15, unit: 'minute' }, 'en'), '15 minutes');
    assert.equal(waitWords({ value: 1.5, unit: 'hour' }, 'es'), '1,5 horas');
    assert.equal(waitWords({ value: 2, unit: 'hour' }, 'pt'), '2 horas');
  });
});
