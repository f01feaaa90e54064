/**
 * A local stand-in for Anthropic's Messages API, speaking its wire format: POST /v1/messages
 * with `x-api-key` and `anthropic-version`; `{type: "message", content: [...], stop_reason,
 * usage: {input_tokens, output_tokens}}`. Structured output is answered the way the request
 * asks for it, as the AI SDK sends either:
 * - `output_config.format` (native JSON-schema output, newer models) → a `text` block of JSON;
 * - a forced tool named `json` (older models) → a `tool_use` block whose `input` is the object.
 * Errors are `{type: "error", error: {type, message}}` (429 rate_limit_error, 500 api_error,
 * 529 overloaded_error). Every request is recorded.
 */
import { DEFAULT_ANSWER, INVALID_OUTPUT, type LlmStandIn, oversizedOutput, waitOrDisconnect } from './openai.ts';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function startAnthropicStandIn(): LlmStandIn {
  const apiKey = 'sk-ant-stand-in';
  const error = (status: number, message: string, headers: Record<string, string> = {}) =>
    Response.json({ type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } }, { status, headers: { 'request-id': `req_${crypto.randomUUID()}`, ...headers } });

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
      if (req.method !== 'POST' || url.pathname !== '/v1/messages') return error(404, 'Not found');
      const raw = await req.text();
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        return error(400, 'There was an error parsing the body of your request.');
      }
      standIn.requests.push({ path: url.pathname, headers: req.headers.toJSON(), raw, body });
      if (req.headers.get('x-api-key') !== apiKey) return error(401, 'invalid x-api-key');
      if (!req.headers.get('anthropic-version')) return error(400, 'anthropic-version: header is required');
      if (typeof body.model !== 'string' || typeof body.max_tokens !== 'number' || !Array.isArray(body.messages) || body.messages.length === 0) {
        return error(400, 'model, max_tokens and messages: Field required');
      }
      const reply = standIn.replies.shift() ?? { kind: 'answer' };
      if (reply.kind === 'error') {
        const headers: Record<string, string> = reply.retryAfter !== undefined ? { 'retry-after': String(reply.retryAfter) } : {};
        return error(reply.status, reply.status === 429 ? 'Number of request tokens has exceeded your per-minute rate limit' : reply.status === 529 ? 'Overloaded' : 'Internal server error', headers);
      }
      if (reply.kind === 'slow') await waitOrDisconnect(reply.ms, req.signal);

      const output =
        reply.kind === 'invalid' ? INVALID_OUTPUT :
        reply.kind === 'oversized' ? oversizedOutput() :
        reply.kind === 'answer' && reply.output !== undefined ? reply.output : standIn.answer;
      const jsonTool = Array.isArray(body.tools) && body.tools.some((t: any) => t.name === 'json');
      let content: unknown[];
      let stopReason = 'end_turn';
      if (reply.kind === 'malformed') {
        content = [{ type: 'text', text: '{"candidates": [{"title": "sales.orders is' }];
      } else if (body.output_config?.format?.type === 'json_schema') {
        content = [{ type: 'text', text: JSON.stringify(output) }];
      } else if (jsonTool) {
        content = [{ type: 'tool_use', id: `toolu_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`, name: 'json', input: output }];
        stopReason = 'tool_use';
      } else {
        content = [{ type: 'text', text: JSON.stringify(output) }];
      }
      const outputTokens = Math.ceil(JSON.stringify(content).length / 4);
      return Response.json({
        id: `msg_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { input_tokens: Math.ceil(raw.length / 4), output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    },
  });
  standIn.url = `http://127.0.0.1:${server.port}/v1`;
  return standIn;
}
