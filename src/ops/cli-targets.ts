/**
 * The platforms `da` is released for: the names of the files the server hands out
 * (`da-<os>-<arch>`, `.exe` on Windows), shared by scripts/build-cli.ts, the download routes
 * and the installers.
 */

/** Built by `bun scripts/build-cli.ts --all` and offered by install.sh / install.ps1. */
export const RELEASE_TARGETS = ['darwin-arm64', 'darwin-x64', 'linux-x64', 'linux-arm64', 'windows-x64'] as const;
/** Buildable with `--target` (musl Linux), served when built, not part of `--all`. */
export const EXTRA_TARGETS = ['linux-x64-musl', 'linux-arm64-musl'] as const;
export const CLI_TARGETS: readonly string[] = [...RELEASE_TARGETS, ...EXTRA_TARGETS];

/** `da-linux-x64`, `da-windows-x64.exe`: the release file name of a target. */
export function releaseFileName(target: string): string {
  return `da-${target}${target.startsWith('windows') ? '.exe' : ''}`;
}

/** `linux-x64` etc. for the machine this runs on (the target of a host build, dist/da). */
export function hostTarget(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return `${os}-${process.arch}`;
}
