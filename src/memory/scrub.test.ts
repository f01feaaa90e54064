import { describe, expect, test } from 'bun:test';
import { scrubCandidate, scrubText } from './scrub.ts';

// Built from parts so this file itself does not look like it holds live credentials.
const AWS = 'AKIA' + 'IOSFODNN7EXAMPLE';
const GHP = 'ghp_' + 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5';
const SLACK = 'xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const OPENAI = 'sk-proj-' + 'Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56';
const ANTHROPIC = 'sk-ant-api03-' + 'Zx98Yw76Vu54Ts32Rq10Po98';
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9' + '.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ' + '.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MmVlZDXgLTiiKQG1', 'c2VjcmV0c2VjcmV0', '-----END RSA PRIVATE KEY-----'].join('\n');

/** Each case: text holding one secret, the secret itself, and the marker expected in its place. */
const CASES: Array<[name: string, text: string, secret: string, marker: string]> = [
  ['OpenAI key', `export OPENAI_KEY ${OPENAI} for the notebook`, OPENAI, '[secret removed]'],
  ['Anthropic key', `key ${ANTHROPIC} in the vault`, ANTHROPIC, '[secret removed]'],
  ['AWS access key id', `the loader uses ${AWS} to read the bucket`, AWS, '[secret removed]'],
  ['GitHub token', `clone with ${GHP} when CI is down`, GHP, '[secret removed]'],
  ['Slack token', `alerts bot token ${SLACK}`, SLACK, '[secret removed]'],
  ['JWT', `paste ${JWT} into the header`, JWT, '[secret removed]'],
  ['Bearer header', 'curl -H "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4" https://api', '9f8e7d6c5b4a39281706f5e4', 'Bearer [secret removed]'],
  ['private key block', `deploy key:\n${PEM}\nend`, 'MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn', '[secret removed]'],
  ['password=', 'connect with user=bi password=Hunter2Hunter2 on port 5432', 'Hunter2Hunter2', 'password=[secret removed]'],
  ['token:', 'token: s3cr3t-t0ken-value', 's3cr3t-t0ken-value', 'token: [secret removed]'],
  ['API_KEY="…"', 'KEBOOLA_API_KEY="1234-abcdefghijkl"', '1234-abcdefghijkl', 'KEBOOLA_API_KEY=[secret removed]'],
  ['password is', 'the warehouse password is Tr0ub4dor&3 for now', 'Tr0ub4dor&3', 'password is [secret removed]'],
  ['postgres URL', 'psql postgres://analyst:pa55word@db.internal:5432/warehouse to check', 'pa55word', '[connection string removed]'],
  ['mongodb+srv URL', 'events live in mongodb+srv://etl:Zm9vYmFy@cluster0.abcde.mongodb.net/events', 'Zm9vYmFy', '[connection string removed]'],
  ['JDBC with password', 'jdbc:sqlserver://sql01:1433;databaseName=dw;user=sa;password=Passw0rd! is the old DW', 'Passw0rd!', '[connection string removed]'],
  ['ADO.NET string', 'Server=tcp:dw.example.net,1433;Database=dw;User Id=etl;Password=Sup3rS3cret;', 'Sup3rS3cret', '[connection string removed]'],
  ['high-entropy string', 'the webhook signing value is Qm9vYmF6MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTA1', 'Qm9vYmF6MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTA1', '[secret removed]'],
  ['e-mail address', 'ask jana.novakova@example.com about refunds', 'jana.novakova@example.com', '[email removed]'],
  ['international phone', 'call +420 777 123 456 if the load fails', '777 123 456', '[phone removed]'],
  ['US phone', 'on-call: (415) 555-0134', '555-0134', '[phone removed]'],
  ['IBAN', 'refunds go to DE89 3704 0044 0532 0130 00 monthly', '3704 0044 0532', '[iban removed]'],
  ['card number', 'test card 4111 1111 1111 1111 is excluded', '4111 1111 1111 1111', '[card number removed]'],
];

describe('scrubText', () => {
  for (const [name, text, secret, marker] of CASES) {
    test(`removes a ${name}`, () => {
      const { text: out, found } = scrubText(text);
      expect(out).not.toContain(secret);
      expect(out).toContain(marker);
      expect(Object.keys(found).length).toBeGreaterThan(0);
    });
  }

  test('keeps ordinary notes about data intact', () => {
    const notes = [
      '`sales.orders.amount` is in cents; divide by 100.',
      'Orders before 2024-01-01 have no channel (NULL).',
      'Use `finance.invoices_v2` instead of `finance.invoices`.',
      'Order 1234567890123 is a test order; exclude it.',
      'Timestamps are UTC; revenue excludes VAT of 21 %.',
      'The token table `auth.api_tokens` has one row per PAT (hashes only).',
      'Basic authentication is used by the legacy export.',
      'Customer ids look like 550e8400-e29b-41d4-a716-446655440000.',
    ];
    for (const note of notes) expect(scrubText(note)).toEqual({ text: note, found: {} });
  });

  test('counts each kind it removed', () => {
    const { found } = scrubText(`mail a@b.io or c@d.io, key ${AWS}`);
    expect(found).toEqual({ email: 2, secret: 1 });
  });
});

describe('scrubCandidate', () => {
  test('scrubs title, content and tags', () => {
    const c = scrubCandidate({
      title: 'Loader reads with ' + AWS,
      content: `The nightly loader reads raw.events with ${AWS}; ask ops@example.com before rotating it.`,
      category: 'how-to',
      tags: ['raw.events', 'ops@example.com'],
    });
    expect(c).toEqual({
      title: 'Loader reads with [secret removed]',
      content: 'The nightly loader reads raw.events with [secret removed]; ask [email removed] before rotating it.',
      category: 'how-to',
      tags: ['raw.events'],
    });
  });

  test('drops a candidate that is mostly secret', () => {
    expect(scrubCandidate({ title: 'Prod credentials', content: `password=${'Zz9'.repeat(10)} ${GHP} ${AWS}`, category: 'how-to', tags: [] })).toBeNull();
    expect(scrubCandidate({ title: 'Key', content: PEM, category: 'how-to', tags: [] })).toBeNull();
  });
});
