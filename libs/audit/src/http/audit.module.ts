// The audit archive's Nest module: the REST controller, and the member's AuditArchive as a global
// provider (token AUDIT_ARCHIVE) so the config center and the console can inject it.
import { type DynamicModule, Module } from '@nestjs/common';
import type { AuditArchive } from '../types';
import { AuditController } from './audit.controller';
import { AUDIT_ARCHIVE } from './tokens';

@Module({})
export class AuditModule {
  static forArchive(archive: AuditArchive): DynamicModule {
    return {
      module: AuditModule,
      global: true,
      controllers: [AuditController],
      providers: [{ provide: AUDIT_ARCHIVE, useValue: archive }],
      exports: [AUDIT_ARCHIVE],
    };
  }
}
