/** Nest injection token of the member's AuditArchive (provided globally by AuditModule). */
export const AUDIT_ARCHIVE = Symbol('AUDIT_ARCHIVE');
