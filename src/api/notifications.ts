import { z } from '@hono/zod-openapi';
import { upgradeWebSocket } from 'hono/bun';
import type { ServerWebSocket } from 'bun';
import type { AppDeps, AppEnv, AuthUser } from '../context.ts';
import type { Notifications } from '../notify/index.ts';
import { channelChoices, saveChannelChoices } from '../notify/preferences.ts';
import { NOTIFICATION_EVENTS } from '../repositories/notifications.ts';
import { currentUser, resolveToken, sameOrigin } from '../auth/middleware.ts';
import { createRouter, defineRoute, errorResponse, errorResponses } from './router.ts';
import { problem } from './problem.ts';
import { jsonBody, jsonResponse } from './schemas.ts';

const EventSchema = z.enum(NOTIFICATION_EVENTS);

export const EventChannelsSchema = z
  .object({
    event: EventSchema,
    websocket: z.boolean().openapi({ description: 'Sent on /ws/notifications' }),
    telegram: z.boolean().openapi({ description: 'Sent to the linked Telegram chat' }),
  })
  .openapi('NotificationChannels');

const PreferencesSchema = z.object({ items: z.array(EventChannelsSchema) }).openapi('NotificationPreferences');
const PreferencesUpdateSchema = z
  .object({
    items: z
      .array(z.object({ event: EventSchema, websocket: z.boolean().optional(), telegram: z.boolean().optional() }).strict())
      .min(1)
      .max(NOTIFICATION_EVENTS.length * 2),
  })
  .openapi('NotificationPreferencesUpdate');

const tags = ['notifications'];

const getPreferences = defineRoute({
  access: 'viewer', method: 'get', path: '/api/notifications/preferences', operationId: 'notifications.preferences.get', tags,
  summary: 'Which channels carry each kind of my notifications (a choice never made is on)',
  responses: { 200: jsonResponse(PreferencesSchema, 'Every kind of notification with its channels') },
});
const putPreferences = defineRoute({
  access: 'viewer', method: 'put', path: '/api/notifications/preferences', operationId: 'notifications.preferences.put', tags,
  summary: 'Turn channels on or off per kind of notification (channels left out keep their choice)',
  request: jsonBody(PreferencesUpdateSchema),
  responses: { 200: jsonResponse(PreferencesSchema, 'Every kind of notification with its channels, as saved') },
});

/** `GET|PUT /api/notifications/preferences` (any signed-in user, for themselves). */
export function createNotificationPreferencesRouter(deps: AppDeps) {
  const repo = deps.repos.notifications;
  return createRouter()
    .openapi(getPreferences, async (c) => c.json({ items: await channelChoices(repo, currentUser(c).id) }, 200))
    .openapi(putPreferences, async (c) => c.json({ items: await saveChannelChoices(repo, currentUser(c).id, c.req.valid('json').items) }, 200));
}

export const SOCKET_PATH = '/ws/notifications';

/**
 * `GET /ws/notifications`: the caller's notifications as JSON text messages. Authenticated
 * before the upgrade, like the API (Bearer header, session cookie) or with `?token=` (a
 * browser's WebSocket cannot send headers); a session cookie counts only from a page of
 * this server (a cross-site page could otherwise open the socket as the user). Refused
 * without upgrading: 401, 403 (cross-site), 426 (not a WebSocket request), 429 (the user
 * has the most sockets open already).
 */
export function createNotificationSocketRouter(deps: AppDeps, notifications: Notifications) {
  const { hub } = notifications;
  const cap = deps.config.notifications.max_connections_per_user;
  const router = createRouter();
  // In the document for clients and agents; served by the plain handler below (`?token=` is read there).
  router.openAPIRegistry.registerPath({
    method: 'get', path: SOCKET_PATH, operationId: 'notifications.socket', tags,
    summary: 'My notifications as a WebSocket: JSON text messages {type, at, …}; the server pings every notifications.ping_seconds',
    description:
      'Authenticated before the upgrade: `Authorization: Bearer`, `?token=<token>`, or the session cookie from a page of this server. ' +
      'Message types: ' + NOTIFICATION_EVENTS.join(', ') + '. Channels turned off in /api/notifications/preferences are not sent.',
    security: [{ bearerAuth: [] }],
    request: { query: z.object({ token: z.string().optional().openapi({ description: 'A token, for clients that cannot send headers (browsers)' }) }) },
    responses: {
      101: { description: 'Switching to the WebSocket protocol' },
      ...errorResponses('viewer'),
      403: errorResponse('A session cookie sent from a page of another site'),
      426: errorResponse('Not a WebSocket handshake'),
      429: errorResponse('The user has notifications.max_connections_per_user sockets open already'),
    },
    'x-required-role': 'viewer',
  } as Parameters<typeof router.openAPIRegistry.registerPath>[0]);
  return router.get(SOCKET_PATH, async (c) => {
    let user: AuthUser | undefined = c.get('user');
    let refusal = c.get('authError');
    const queryToken = c.req.query('token');
    if (!user && queryToken) {
      const resolved = await resolveToken(deps, queryToken);
      user = resolved.user;
      refusal = resolved.error;
    }
    if (!user) return problem(c, 401, refusal ?? 'sign in first: send "Authorization: Bearer <token>", ?token=<token>, or the session cookie');
    if (user.via === 'cookie' && !sameOrigin(c, deps.config.server.trust_proxy)) {
      return problem(c, 403, 'a session cookie opens this socket only from a page of this server');
    }
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      return problem(c, 426, 'this address speaks WebSocket only', { headers: { upgrade: 'websocket' } });
    }
    const ticket = hub.reserve(user.id);
    if (!ticket) return problem(c, 429, `you have ${cap} notification sockets open already (the most allowed); close one first`);
    const userId = user.id;
    try {
      return await upgradeWebSocket(c, {
        onOpen(_event, ws) {
          ticket.attach(ws.raw as ServerWebSocket<unknown>);
          deps.logger.debug('notification socket opened', { user: userId, open: hub.connections(userId) });
        },
        onClose() {
          ticket.release();
        },
        onError() {
          ticket.release();
        },
      });
    } catch (err) {
      ticket.release();
      throw err;
    }
  });
}
