/**
 * Turns an uploaded session (`.jsonl`, one JSON object a line, as Claude Code and similar
 * agents write them) into the plain transcript text an Extractor reads: one `user: …` or
 * `assistant: …` line per turn. Only what people and the assistant said is kept: tool calls,
 * tool results, thinking, images, summaries and meta lines are left out, as are lines that
 * are not JSON.
 *
 * Understood shapes: `{type: "user"|"assistant", message: {role, content}}` (Claude Code) and
 * `{role, content}` (plain chat messages); `content` a string or a list of blocks of which
 * the `text` ones count.
 *
 * @example transcriptFromJsonl('{"type":"user","message":{"role":"user","content":"hi"}}') // 'user: hi'
 */
export function transcriptFromJsonl(jsonl: string): string {
  const turns: string[] = [];
  for (const line of jsonl.split(/\r?\n/)) {
    if (!line.trim()) continue;
    let entry: any;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (!entry || typeof entry !== 'object' || entry.isMeta || entry.isSidechain) continue;
    const message = entry.message && typeof entry.message === 'object' ? entry.message : entry;
    const role = message.role ?? entry.type;
    if (role !== 'user' && role !== 'assistant') continue;
    const text = textOf(message.content).trim();
    // Claude Code records command output and interrupts as user turns in angle-bracket tags.
    if (!text || /^<(command-|local-command-|system-reminder|user-prompt-submit-hook)/.test(text)) continue;
    turns.push(`${role}: ${text}`);
  }
  return turns.join('\n');
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is { type: 'text'; text: string } => !!b && typeof b === 'object' && b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text)
    .join('\n');
}
