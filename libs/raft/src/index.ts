export * from './types';
export * from './contracts';
export * from './errors';
