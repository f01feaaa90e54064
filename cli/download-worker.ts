/**
 * Entry point of a download thread (see cli/download-thread.ts): runs `transferOnce` for each
 * request it is sent (several at once) and answers with progress, the result or the error,
 * each tagged with the request's id.
 */
import { createClient } from './client.ts';
import { transferOnce } from './download.ts';
import { errorToWire, type TransferRequest, type WorkerMessage } from './download-thread.ts';

declare const self: Worker;

/** Progress is reported in batches: a message per chunk would cost more than the chunk. */
const REPORT_EVERY = 1024 * 1024;

self.onmessage = async (e: MessageEvent<TransferRequest>) => {
  const req = e.data;
  const id = req.id!;
  const post = (m: Omit<WorkerMessage, 'id'>) => self.postMessage({ id, ...m });
  let pending = 0;
  try {
    const client = createClient(req.server, req.token);
    const r = await transferOnce(client, req.url, req.dest, req.expected, (n) => {
      pending += n;
      if (pending >= REPORT_EVERY) {
        post({ bytes: pending });
        pending = 0;
      }
    }, req.idleTimeoutMs, req.flush);
    if (pending) post({ bytes: pending });
    post({ done: r });
  } catch (err) {
    if (pending) post({ bytes: pending });
    post({ error: errorToWire(err) });
  }
};
