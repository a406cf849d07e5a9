import type { Queryable } from './pool';

/** Records a routing config under its version; recording one that is there already changes nothing. */
export async function recordRuleVersion(db: Queryable, version: string, crmVersion: string, rules: unknown): Promise<void> {
  await db.query(
    `INSERT INTO routing_rule_versions (version, crm_version, rules) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING`,
    [version, crmVersion, JSON.stringify(rules)],
  );
}

export async function findRuleVersion(db: Queryable, version: string): Promise<unknown> {
  const { rows } = await db.query(`SELECT rules FROM routing_rule_versions WHERE version = $1`, [version]);
  return rows[0]?.rules;
}

/** Whether some recorded config has exactly this CRM section. */
export async function hasCrmVersion(db: Queryable, crmVersion: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM routing_rule_versions WHERE crm_version = $1 LIMIT 1`, [crmVersion]);
  return rows.length > 0;
}
