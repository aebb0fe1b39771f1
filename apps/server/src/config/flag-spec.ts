// What a launch flag is; shared by flags.ts and the settings files that bring their own flags.

export type FlagType = 'string' | 'int' | 'bool' | 'urls';

export interface FlagSpec {
  name: string;
  type: FlagType;
  default: string;
  help: string;
}

export class FlagError extends Error {}
