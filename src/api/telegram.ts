import { z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { Update } from 'grammy/types';
import type { AppEnv } from '../context.ts';
import type { Notifications } from '../notify/index.ts';
import { WEBHOOK_PATH } from '../notify/telegram.ts';
import { currentUser } from '../auth/middleware.ts';
import { NotFoundError } from '../errors.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { problem } from './problem.ts';
import { jsonBody, jsonResponse } from './schemas.ts';

export const TelegramLinkSchema = z
  .object({
    linked: z.boolean(),
    linked_at: z.string().nullable(),
    bot_enabled: z.boolean().openapi({ description: 'Whether this server has a Telegram bot configured' }),
    bot_username: z.string().nullable().openapi({ description: "The bot's @name, to find it in Telegram" }),
  })
  .openapi('TelegramLink');

export const LinkCodeSchema = z.object({ code: z.string().trim().regex(/^\d{6}$/, 'the code is the 6 digits the bot sent') });

const tags = ['telegram'];

const getLink = defineRoute({
  access: 'viewer', method: 'get', path: '/api/telegram/link', operationId: 'telegram.link.get', tags,
  summary: 'Whether a Telegram chat is linked to my account',
  responses: { 200: jsonResponse(TelegramLinkSchema, 'The link state') },
});
const postLink = defineRoute({
  access: 'viewer', method: 'post', path: '/api/telegram/link', operationId: 'telegram.link.create', tags,
  summary: 'Link the Telegram chat that got this code from the bot (/start) to my account',
  request: jsonBody(LinkCodeSchema.openapi('TelegramLinkCode')),
  rateLimited: 'Too many wrong codes: 10 per 10 minutes',
  responses: {
    200: jsonResponse(TelegramLinkSchema, 'Linked'),
    404: errorResponse('Telegram is not configured on this server'),
  },
});
const deleteLink = defineRoute({
  access: 'viewer', method: 'delete', path: '/api/telegram/link', operationId: 'telegram.link.delete', tags,
  summary: 'Unlink my Telegram chat: no more notifications there',
  responses: { 204: { description: 'Unlinked' }, 404: errorResponse('No chat is linked') },
});

/** `GET|POST|DELETE /api/telegram/link` (any signed-in user, for themselves). */
export function createTelegramRouter(notifications: Notifications) {
  const { links } = notifications;
  return createRouter()
    .openapi(getLink, async (c) => c.json(await links.status(currentUser(c).id), 200))
    .openapi(postLink, async (c) => {
      const user = currentUser(c);
      if (!notifications.telegram) throw new NotFoundError('Telegram is not configured on this server');
      return c.json(await links.link(user.id, user.email, c.req.valid('json').code), 200);
    })
    .openapi(deleteLink, async (c) => {
      await links.unlink(currentUser(c).id);
      return c.body(null, 204);
    });
}

/**
 * `POST /webhooks/telegram`: updates Telegram posts in webhook mode, accepted only with the
 * configured secret in `X-Telegram-Bot-Api-Secret-Token` (401 otherwise); 404 when the
 * bot does not run in webhook mode.
 */
export function createTelegramWebhookRouter(notifications: Notifications) {
  return new Hono<AppEnv>().post(WEBHOOK_PATH, async (c) => {
    const bot = notifications.telegram;
    if (!bot || bot.mode !== 'webhook') return problem(c, 404, 'the Telegram webhook is not enabled on this server');
    if (!bot.checkWebhookSecret(c.req.header('x-telegram-bot-api-secret-token'))) {
      return problem(c, 401, 'missing or wrong X-Telegram-Bot-Api-Secret-Token');
    }
    let update: Update;
    try {
      update = (await c.req.json()) as Update;
    } catch {
      return problem(c, 400, 'the body is not a Telegram update (JSON)');
    }
    if (typeof update?.update_id !== 'number') return problem(c, 400, 'the body is not a Telegram update (no update_id)');
    await bot.handleUpdate(update);
    return c.body(null, 200);
  });
}
