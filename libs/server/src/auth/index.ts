// Authentication and authorisation (etcd's server/auth): the replicated auth store, permission checks for
// requests, tokens and the authenticator the request pipeline uses.
export * from './auth-store';
export * from './key-permissions';
export * from './request-permissions';
export * from './auth-apply';
export * from './entry-subject';
export * from './passwords';
export * from './password-gate';
export * from './token-provider';
export * from './simple-tokens';
export * from './jwt-tokens';
export * from './authenticator';
