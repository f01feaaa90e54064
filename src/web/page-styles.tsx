import { Layout } from '../../views/layout.tsx';

/**
 * CSP hashes (`sha256-…`) of the inline `<style>` of the page layout, taken from the layout
 * itself when the server starts: the Content-Security-Policy allows exactly these styles
 * inline and no other (an injected `<style>` does not apply).
 */
export function pageStyleHashes(): string[] {
  const frames = [
    String(<Layout narrow>{''}</Layout>),
    String(<Layout user={{ email: '', role: '' }} csrf="">{''}</Layout>),
  ];
  const hashes = new Set<string>();
  for (const html of frames) {
    for (const [, css] of html.matchAll(/<style>([\s\S]*?)<\/style>/g)) {
      hashes.add(`sha256-${new Bun.CryptoHasher('sha256').update(css!).digest('base64')}`);
    }
  }
  return [...hashes];
}
