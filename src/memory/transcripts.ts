/**
 * Claude Code session transcripts (`.jsonl`, one event per line) as plain text for
 * extraction: only what the user and the assistant said. Tool calls, tool results,
 * thinking, summaries and lines that are not JSON are left out, so neither file contents
 * the agent read nor command output reach the extractor.
 */

type Block = { type?: string; text?: unknown };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Block[])
    .filter((b) => b && b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n');
}

/** Claude Code's wrappers around slash commands and hook output: not something the user said. */
const NOISE = /^<(command-name|command-message|command-args|local-command-stdout|system-reminder)>/;

/** The user's and assistant's messages of a transcript, as `User: …` / `Assistant: …` paragraphs. */
export function transcriptText(jsonl: string): string {
  const out: string[] = [];
  for (const line of jsonl.split('\n')) {
    if (!line.trim()) continue;
    let event: { type?: string; isMeta?: boolean; message?: { role?: string; content?: unknown } };
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (!event || typeof event !== 'object' || event.isMeta) continue;
    const role = event.message?.role ?? event.type;
    if (role !== 'user' && role !== 'assistant') continue;
    const text = textOf(event.message?.content).trim();
    if (!text || NOISE.test(text)) continue;
    out.push(`${role === 'user' ? 'User' : 'Assistant'}: ${text}`);
  }
  return out.join('\n\n');
}
