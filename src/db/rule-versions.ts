import { createHash } from 'node:crypto';
import type { CrmConfig, RoutingConfig } from '../domain/routing-config';
import type { Queryable } from './pool';

/** Records a routing config under its version; recording one that is there already changes nothing. */
async function recordRuleVersion(db: Queryable, version: string, crmVersion: string, rules: unknown): Promise<void> {
  await db.query(
    `INSERT INTO routing_rule_versions (version, crm_version, rules) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING`,
    [version, crmVersion, JSON.stringify(rules)],
  );
}

async function findRuleVersion(db: Queryable, version: string): Promise<unknown> {
  const { rows } = await db.query(`SELECT rules FROM routing_rule_versions WHERE version = $1`, [version]);
  return rows[0]?.rules;
}

/** Whether some recorded config has exactly this CRM section. */
async function hasCrmVersion(db: Queryable, crmVersion: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM routing_rule_versions WHERE crm_version = $1 LIMIT 1`, [crmVersion]);
  return rows.length > 0;
}

/** JSON with every object's keys in order: the same config gives the same text however it was built or carried. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, nested: unknown) =>
    nested !== null && typeof nested === 'object' && !Array.isArray(nested)
      ? Object.fromEntries(Object.entries(nested).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : nested,
  );
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A routing config's version: the sha256 of its canonical JSON. */
function rulesVersion(config: RoutingConfig): string {
  return sha256(canonicalJson(config));
}

function crmVersion(crm: CrmConfig): string {
  return sha256(canonicalJson(crm));
}

/**
 * The registry of routing configs that started runs. A run carries its config's version; the worker reads what
 * reaches the network (the CRM's endpoint, headers, body and mapping) from here, so no run's input can name a host
 * or a header. A version never changes, so what was read once is kept.
 */
export class RuleVersions {
  private readonly recorded = new Map<string, Promise<void>>();
  private readonly known = new Map<string, RoutingConfig>();

  constructor(private readonly db: Queryable) {}

  /** Records the config (once per process while it succeeds) and answers its version. */
  async record(config: RoutingConfig): Promise<string> {
    const version = rulesVersion(config);
    let recording = this.recorded.get(version);
    if (!recording) {
      recording = recordRuleVersion(this.db, version, crmVersion(config.crm), config);
      this.recorded.set(version, recording);
      recording.catch(() => this.recorded.delete(version));
    }
    await recording;
    this.known.set(version, config);
    return version;
  }

  /** The config recorded under this version; undefined when none was. */
  async rules(version: string): Promise<RoutingConfig | undefined> {
    const cached = this.known.get(version);
    if (cached) return cached;
    const found = (await findRuleVersion(this.db, version)) as RoutingConfig | undefined;
    if (found) this.known.set(version, found);
    return found;
  }

  /** Whether this CRM section is exactly that of a recorded config. */
  async knowsCrm(crm: CrmConfig): Promise<boolean> {
    return hasCrmVersion(this.db, crmVersion(crm));
  }
}
