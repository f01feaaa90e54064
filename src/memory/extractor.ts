/**
 * The one small interface between corporate memory and whatever reads analysts' notes:
 * the built-in offline extractor or an LLM provider (src/memory/llm/). The extraction job
 * hands it one upload at a time and stores what comes back as pending items.
 *
 * Uploaded text is data, never instructions: an extractor only ever returns candidates;
 * it has no way to approve, delete or change anything.
 */

/**
 * One uploaded file to read: a CLAUDE.local.md (`notes`, its markdown as uploaded) or a
 * session transcript (`transcript`). A transcript is plain text, one turn per line starting
 * `user: ` or `assistant: ` (lines that follow belong to the same turn), without tool calls
 * and results: `transcriptFromJsonl` (src/memory/llm/) makes it from an uploaded .jsonl
 * session. The extractor removes secrets and personal data itself and cuts text longer
 * than `ai.max_input_chars`.
 */
export interface ExtractionInput {
  kind: 'notes' | 'transcript';
  text: string;
  /** Where it came from, e.g. `uploads/<user>/CLAUDE.local.md`; kept on the items as their source. */
  source: string;
  /** The uploader's user id: the first contributor of what is found. */
  contributor: string;
}

/** Something an analyst learnt about the data, proposed for review. */
export interface Candidate {
  title: string;
  content: string;
  category: string;
  tags: string[];
}

export interface Extractor {
  /** `offline`, `openai` or `anthropic`: logged with every run. */
  readonly name: string;
  /**
   * The candidates in one input, with secrets and personal data already removed from what
   * was sent and from what is returned. Throws when the provider fails after its retries
   * (the job logs it and skips that input); never returns half-validated output.
   */
  extract(input: ExtractionInput, signal?: AbortSignal): Promise<Candidate[]>;
}
