import { setDefaultTimeout } from 'bun:test';

// Wall-clock limits only catch hangs here; no test asserts on timing.
setDefaultTimeout(60_000);
