/**
 * Chooses the extractor named in `ai:` of instance.yaml: the built-in offline one (the
 * default, no network), an OpenAI-compatible chat-completions API (OpenAI, a gateway,
 * Ollama's /v1) or Anthropic's Messages API.
 *
 * @example const extractor = createExtractor(config.ai, logger)
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import type { AiConfig } from '../../config.ts';
import type { Extractor } from '../extractor.ts';
import type { Logger } from '../../log.ts';
import { createOfflineExtractor } from './offline.ts';
import { createRemoteExtractor } from './remote.ts';

export { ExtractionError } from './remote.ts';
export { CATEGORIES, type Category } from './candidates.ts';
export { transcriptFromJsonl } from './transcript.ts';

export const DEFAULT_MODELS = { openai: 'gpt-4.1-mini', anthropic: 'claude-haiku-4-5' } as const;

export function createExtractor(ai: AiConfig, logger: Logger): Extractor {
  if (ai.provider === 'offline') return createOfflineExtractor({ maxInputChars: ai.max_input_chars, logger });
  // The config schema already refuses a network provider without a key; this guards direct callers.
  if (!ai.api_key) throw new Error(`ai.api_key is needed with provider ${ai.provider}`);
  const modelId = ai.model ?? DEFAULT_MODELS[ai.provider];
  const model =
    ai.provider === 'openai'
      ? createOpenAI({ baseURL: ai.base_url, apiKey: ai.api_key }).chat(modelId)
      : createAnthropic({ baseURL: ai.base_url, apiKey: ai.api_key })(modelId);
  return createRemoteExtractor({
    name: ai.provider,
    model,
    modelId,
    timeoutMs: ai.timeout_s * 1000,
    maxRetries: ai.max_retries,
    retryDelayMs: ai.retry_delay_ms,
    maxInputChars: ai.max_input_chars,
    logger,
  });
}
