/**
 * A local stand-in for an OpenAI-compatible chat-completions API (OpenAI, gateways, Ollama's
 * /v1), speaking its wire format: POST /v1/chat/completions with a Bearer key; a structured
 * answer is JSON text in `choices[0].message.content`, with `usage` token counts; errors are
 * `{error: {message, type, code}}` with the real status codes. Every request is recorded so a
 * test can check what reached the provider (and that no secret did).
 */

/** How the stand-in answers the next request. */
export type LlmReply =
  /** A structured answer: `output` or, without it, the stand-in's `answer`. */
  | { kind: 'answer'; output?: unknown }
  /** An error status (500, 429, 529 …), with Retry-After seconds when set. */
  | { kind: 'error'; status: number; retryAfter?: number }
  /** Text that is not JSON at all. */
  | { kind: 'malformed' }
  /** JSON of the wrong shape (candidates without content, a category that is a number). */
  | { kind: 'invalid' }
  /** The answer, but only after `ms` (or never, if the client gives up first). */
  | { kind: 'slow'; ms: number }
  /** Far more candidates, and far longer fields, than asked for. */
  | { kind: 'oversized' };

export interface RecordedRequest {
  path: string;
  headers: Record<string, string>;
  /** The request body as sent, before any parsing. */
  raw: string;
  body: any;
}

export interface LlmStandIn {
  /** Base URL to configure (`ai.base_url`), ending in /v1. */
  url: string;
  apiKey: string;
  /** The structured output of an `answer` reply without its own `output`. */
  answer: unknown;
  /** Replies for the next requests, in order; once empty, every request gets `answer`. */
  replies: LlmReply[];
  requests: RecordedRequest[];
  stop(): void;
}

/** An answer with more and longer candidates than any extractor keeps. */
export function oversizedOutput(): unknown {
  return {
    candidates: Array.from({ length: 200 }, (_, i) => ({
      title: `Fact ${i} about sales.orders ` + 'x'.repeat(500),
      content: `sales.orders fact number ${i}. ` + 'More detail about the orders table. '.repeat(200),
      category: 'Data Quality',
      tags: Array.from({ length: 40 }, (_, j) => `tag_${j}_` + 'y'.repeat(100)),
    })),
  };
}

/** JSON that parses but does not match the candidate schema. */
export const INVALID_OUTPUT = { candidates: [{ title: 'Half an item', category: 7 }] };

/** Waits `ms`, or until the client disconnects. */
export function waitOrDisconnect(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

export const DEFAULT_ANSWER = {
  candidates: [
    {
      title: 'sales.orders.amount is in cents',
      content: 'The amount column of sales.orders is stored in cents; divide by 100 for EUR.',
      category: 'definitions',
      tags: ['sales.orders', 'orders'],
    },
  ],
};

export function startOpenAIStandIn(): LlmStandIn {
  const apiKey = 'sk-stand-in-openai';
  const error = (status: number, message: string, type: string, code: string | null = null, headers: Record<string, string> = {}) =>
    Response.json({ error: { message, type, param: null, code } }, { status, headers });

  const standIn: LlmStandIn = {
    url: '',
    apiKey,
    answer: DEFAULT_ANSWER,
    replies: [],
    requests: [],
    stop: () => server.stop(true),
  };

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
        return error(404, `Unknown request URL: ${req.method} ${url.pathname}`, 'invalid_request_error', 'unknown_url');
      }
      const raw = await req.text();
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        return error(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
      }
      standIn.requests.push({ path: url.pathname, headers: req.headers.toJSON(), raw, body });
      if (req.headers.get('authorization') !== `Bearer ${apiKey}`) {
        return error(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
      }
      if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
        return error(400, "Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter');
      }
      const reply = standIn.replies.shift() ?? { kind: 'answer' };
      if (reply.kind === 'error') {
        const headers: Record<string, string> = reply.retryAfter !== undefined ? { 'retry-after': String(reply.retryAfter) } : {};
        return reply.status === 429
          ? error(429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded', headers)
          : error(reply.status, 'The server had an error while processing your request. Sorry about that!', 'server_error', null, headers);
      }
      if (reply.kind === 'slow') await waitOrDisconnect(reply.ms, req.signal);
      const content =
        reply.kind === 'malformed' ? '{"candidates": [{"title": "sales.orders is' :
        reply.kind === 'invalid' ? JSON.stringify(INVALID_OUTPUT) :
        reply.kind === 'oversized' ? JSON.stringify(oversizedOutput()) :
        JSON.stringify(reply.kind === 'answer' && reply.output !== undefined ? reply.output : standIn.answer);
      const promptTokens = Math.ceil(raw.length / 4);
      const completionTokens = Math.ceil(content.length / 4);
      return Response.json({
        id: `chatcmpl-${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        system_fingerprint: 'fp_stand_in',
      });
    },
  });
  standIn.url = `http://127.0.0.1:${server.port}/v1`;
  return standIn;
}
