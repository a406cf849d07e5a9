import { Router } from 'express';
import { findDirectoryCustomer, putDirectoryCustomer } from '../../db/directory';
import type { Db } from '../../db/pool';
import { adminOnly, allow } from '../auth';
import { notFound } from '../errors';
import { emailParams, emailQuery, putCustomerBody } from '../schemas';

/** The built-in customer directory: the "data warehouse" the default CRM step calls over HTTP. */
export function directoryRoutes({ db }: { db: Db }): Router {
  const router = Router();

  router.put('/v1/directory/customers/:email', adminOnly, async (req, res) => {
    const { email } = emailParams.parse(req.params);
    const body = putCustomerBody.parse(req.body);
    res.json(await putDirectoryCustomer(db, { email, ...body }));
  });

  router.get('/v1/directory/customers', allow('read'), async (req, res) => {
    const { email } = emailQuery.parse(req.query);
    const customer = await findDirectoryCustomer(db, email);
    if (!customer) throw notFound(`no customer with email ${email}`);
    res.json(customer);
  });

  return router;
}
