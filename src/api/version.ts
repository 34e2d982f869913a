/** berth's version, in a module of its own so `berth --version` loads nothing else. */
export const BERTH_VERSION = '0.1.0';
