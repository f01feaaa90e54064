import type { Config } from '../../config.ts';
import { magicLinkEnabled } from './magic-link.ts';

/** Which ways to sign in this server offers (the sign-in page shows these and no others). */
export function signInMethods(config: Pick<Config, 'auth' | 'email'>): { password: boolean; magicLink: boolean; google: boolean } {
  return { password: config.auth.password, magicLink: magicLinkEnabled(config), google: config.auth.google !== undefined };
}
