import { Router } from 'express';
import { getContact } from '../../db/contacts';
import { transcript } from '../../db/messages';
import { eraseContact } from '../../db/erasure';
import { inTransaction, type Db } from '../../db/pool';
import { adminOnly, allow } from '../auth';
import type { Conversations } from '../conversations';
import { HttpError, notFound } from '../errors';
import { receiveMessage } from '../inbound';
import { noteContact } from '../request-log';
import { contactIdParams, eraseContactQuery, inboundMessageBody, startConversationBody, transferBody } from '../schemas';

/** How long an erasure waits for the contact's open conversation to close before answering 409. */
const ERASURE_CLOSE_TIMEOUT_MS = 30_000;

export function conversationRoutes({ conversations, db }: { conversations: Conversations; db: Db }): Router {
  const router = Router();
  const integration = allow('integration');
  const readers = allow('read', 'integration');
  router.param('contactId', noteContact);

  router.post('/v1/conversations', integration, async (req, res) => {
    const { contact } = startConversationBody.parse(req.body);
    res.locals['contactId'] = contact.id;
    const { workflowId, runId, created } = await conversations.open(contact);
    res.status(created ? 202 : 200).json({ contactId: contact.id, workflowId, runId });
  });

  router.get('/v1/conversations/:contactId', readers, async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    res.json(await conversations.status(contactId));
  });

  router.post('/v1/conversations/:contactId/close', integration, async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    await conversations.close(contactId, { reason: 'closed through the API', source: 'api' });
    res.status(202).json({ contactId, closing: true });
  });

  router.post('/v1/conversations/:contactId/transfer', adminOnly, async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    const request = transferBody.parse(req.body);
    const outcome = await conversations.transfer(contactId, request);
    if (!outcome.transferred) throw new HttpError(409, 'transfer_refused', outcome.reason);
    res.json({ contactId, assignee: outcome.assignee });
  });

  router.post('/v1/contacts/:contactId/messages', integration, async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    const message = inboundMessageBody.parse(req.body);
    const { duplicate } = await receiveMessage(conversations, db, contactId, message);
    res.status(202).json({ contactId, messageId: message.messageId, duplicate });
  });

  router.get('/v1/contacts/:contactId/messages', readers, async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    const messages = await transcript(db, contactId);
    if (messages.length === 0 && !(await getContact(db, contactId))) throw notFound(`unknown contact ${contactId}`);
    res.json({ contactId, messages });
  });

  /**
   * Erasure (admin): the open conversation is closed first and its run waited for, so nothing is written after the
   * rows are gone. Idempotent: a contact with nothing left (or never seen) answers 200 with every count 0.
   */
  router.delete('/v1/contacts/:contactId', adminOnly, async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    const { directory } = eraseContactQuery.parse(req.query);
    const closed = await conversations.closeAndWait(contactId, { reason: 'contact erased through the API', source: 'api' }, ERASURE_CLOSE_TIMEOUT_MS);
    const removed = await inTransaction(db, (tx) => eraseContact(tx, contactId, { directory }));
    res.json({ contactId, conversationClosed: closed, removed });
  });

  return router;
}
