import type { Queryable } from './pool';

export interface DirectoryCustomer {
  email: string;
  customerType: string;
  accountManager: string | null;
  name: string | null;
  updatedAt: string;
}

const columns = `email, customer_type AS "customerType", account_manager AS "accountManager", name,
                 updated_at AS "updatedAt"`;

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function putDirectoryCustomer(
  db: Queryable,
  customer: { email: string; customerType: string; accountManager?: string | null; name?: string | null },
): Promise<DirectoryCustomer> {
  const { rows } = await db.query(
    `INSERT INTO directory_customers (email, customer_type, account_manager, name)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (email) DO UPDATE SET customer_type = EXCLUDED.customer_type,
       account_manager = EXCLUDED.account_manager, name = EXCLUDED.name, updated_at = now()
     RETURNING ${columns}`,
    [normalizeEmail(customer.email), customer.customerType, customer.accountManager ?? null, customer.name ?? null],
  );
  return rows[0];
}

export async function findDirectoryCustomer(db: Queryable, email: string): Promise<DirectoryCustomer | undefined> {
  const { rows } = await db.query(`SELECT ${columns} FROM directory_customers WHERE email = $1`, [normalizeEmail(email)]);
  return rows[0];
}
