import { inParallel, newContactId, newMessageNumber } from '../driver';
import { customer, type CustomerKind, type FaultCase, runCase, staff, untilAsked } from './case';

/** (d) The CRM answering 500, hanging past its timeout, 404, and failing twice before answering. */
export const crmFaults: FaultCase = {
  id: 'crm-faults',
  title: 'CRM answering 500, hanging past its timeout, 404',
  run: (ctx) =>
    runCase(ctx, 'crm-faults', { settleMs: 120_000 }, async ({ driver }) => {
      await staff(driver, [100, 100]);
      const kinds: CustomerKind[] = ['vip', 'regular', 'unknown', 'crm-500', 'crm-hang', 'crm-flaky'];
      const contacts = kinds.flatMap((kind) => Array.from({ length: ctx.sizes.crm.perKind }, () => ({ kind, contactId: newContactId() })));
      await inParallel(contacts, 8, async ({ kind, contactId }, i) => {
        const { email, expect } = customer(ctx.infra, kind, contactId, i % 2 ? 'am-1' : 'am-2');
        // Half of them give their email only when asked: the CRM step then runs after the question.
        if (i % 2 === 0) {
          driver.ledger.expect({ contactId, label: kind, expect });
          await driver.open(contactId, { email });
        } else {
          driver.ledger.expect({ contactId, label: `asked-${kind}`, expect: { ...expect, pathIncludes: [...(expect.pathIncludes ?? []), 'valid_reply'] } });
          await driver.open(contactId, {});
          await untilAsked(driver, contactId);
          await driver.say(contactId, `m-${newMessageNumber()}`, email);
        }
      });
    }),
};
