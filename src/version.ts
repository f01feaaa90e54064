import pkg from '../package.json' with { type: 'json' };

/** The product version, from package.json (bundled into the compiled CLI too). */
export const VERSION: string = pkg.version;
