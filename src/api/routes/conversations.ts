import { Router } from 'express';
import { getContact } from '../../db/contacts';
import { transcript } from '../../db/messages';
import type { Db } from '../../db/pool';
import { adminOnly, allow } from '../auth';
import type { Conversations } from '../conversations';
import { HttpError, notFound } from '../errors';
import { receiveMessage } from '../inbound';
import { noteContact } from '../request-log';
import { contactIdParams, inboundMessageBody, startConversationBody, transferBody } from '../schemas';

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

  return router;
}
