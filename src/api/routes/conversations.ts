import { Router } from 'express';
import { recordMessage, transcript } from '../../db/messages';
import { getContact } from '../../db/contacts';
import type { Db } from '../../db/pool';
import type { Conversations } from '../conversations';
import { notFound } from '../errors';
import { HttpError } from '../errors';
import { contactIdParams, inboundMessageBody, startConversationBody, transferBody } from '../schemas';

export function conversationRoutes({ conversations, db }: { conversations: Conversations; db: Db }): Router {
  const router = Router();

  router.post('/v1/conversations', async (req, res) => {
    const { contact } = startConversationBody.parse(req.body);
    const { workflowId, runId, created } = await conversations.open(contact);
    res.status(created ? 202 : 200).json({ contactId: contact.id, workflowId, runId });
  });

  router.get('/v1/conversations/:contactId', async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    res.json(await conversations.status(contactId));
  });

  router.post('/v1/conversations/:contactId/close', async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    await conversations.close(contactId, 'closed through the API');
    res.status(202).json({ contactId, closing: true });
  });

  router.post('/v1/conversations/:contactId/transfer', async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    const request = transferBody.parse(req.body);
    const outcome = await conversations.transfer(contactId, request);
    if (!outcome.transferred) throw new HttpError(409, 'transfer_refused', outcome.reason);
    res.json({ contactId, assignee: outcome.assignee });
  });

  router.post('/v1/contacts/:contactId/messages', async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    const message = inboundMessageBody.parse(req.body);
    // Taken before the signal, so the transcript shows the reply before the answer it triggers.
    const receivedAt = new Date();
    // Signal first: a contact without an open conversation gets a 404 and nothing is stored. A
    // retried request with the same messageId is ignored by the workflow and by the transcript.
    const { runId } = await conversations.message(contactId, message);
    const { inserted } = await recordMessage(db, {
      contactId,
      conversationId: runId,
      direction: 'inbound',
      kind: 'reply',
      externalId: message.messageId,
      text: message.text,
      occurredAt: receivedAt,
      platformTimestamp: message.timestamp,
    });
    res.status(202).json({ contactId, messageId: message.messageId, duplicate: !inserted });
  });

  router.get('/v1/contacts/:contactId/messages', async (req, res) => {
    const { contactId } = contactIdParams.parse(req.params);
    const messages = await transcript(db, contactId);
    if (messages.length === 0 && !(await getContact(db, contactId))) throw notFound(`unknown contact ${contactId}`);
    res.json({ contactId, messages });
  });

  return router;
}
