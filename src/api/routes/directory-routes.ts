import { findDirectoryCustomer, putDirectoryCustomer } from '../../db/directory';
import type { Db } from '../../db/pool';
import { answer, directoryCustomer, error, failure } from '../answers';
import { body, route } from '../contract';
import { notFound } from '../errors';
import { emailParams, emailQuery, putCustomerBody } from '../schemas';
import { AT } from './examples';

const directoryRoute = route<{ db: Db }>();

/** The built-in customer directory: the "data warehouse" the default CRM step calls over HTTP. */
export const directoryRoutes = [
  directoryRoute({
    method: 'put',
    path: '/v1/directory/customers/{email}',
    operationId: 'putCustomer',
    tag: 'Directory',
    summary: 'Create or replace a customer of the built-in directory',
    access: { scopes: [] },
    params: emailParams,
    paramExamples: { email: 'ana@example.com' },
    body: body(putCustomerBody, {
      vip: { summary: 'A VIP customer with an account manager', value: { customerType: 'VIP', accountManager: 'alex', name: 'Ana Souza' } },
    }),
    responses: {
      200: answer('The customer as stored.', directoryCustomer, {
        stored: { summary: 'The customer', value: { email: 'ana@example.com', customerType: 'VIP', accountManager: 'alex', name: 'Ana Souza', updatedAt: AT } },
      }),
    },
    handle: async ({ params: { email }, body: customer }, { db }, res) => {
      res.json(await putDirectoryCustomer(db, { email, ...customer }));
    },
  }),
  directoryRoute({
    method: 'get',
    path: '/v1/directory/customers',
    operationId: 'findCustomer',
    tag: 'Directory',
    summary: 'A customer of the built-in directory, by email: what the default CRM step calls',
    access: { scopes: ['read'] },
    query: emailQuery,
    paramExamples: { email: 'ana@example.com' },
    responses: {
      200: answer('The customer.', directoryCustomer, {
        found: { summary: 'Found', value: { email: 'ana@example.com', customerType: 'VIP', accountManager: 'alex', name: 'Ana Souza', updatedAt: AT } },
      }),
      404: failure('No customer with this email.', { unknown: { summary: 'Not in the directory', value: error('not_found', 'no customer with email zoe@example.com') } }),
    },
    handle: async ({ query: { email } }, { db }, res) => {
      const customer = await findDirectoryCustomer(db, email);
      if (!customer) throw notFound(`no customer with email ${email}`);
      res.json(customer);
    },
  }),
];
