// Swagger models of the REST responses (the plain types in ../types.ts are what clients import).
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type {
  AuditEventPageView,
  AuditEventView,
  AuditGapView,
  AuditOperation,
  AuditStatusView,
} from '../types';

export class AuditEventDto implements AuditEventView {
  @ApiProperty({ description: 'Main revision of the change' }) revision: number;
  @ApiProperty({ description: 'Sub revision (position inside a txn)' }) subRevision: number;
  @ApiProperty({ description: 'The key: UTF-8 text, or base64 when keyEncoding is base64' }) key: string;
  @ApiProperty({ enum: ['utf8', 'base64'] }) keyEncoding: 'utf8' | 'base64';
  @ApiProperty({ enum: ['PUT', 'DELETE'] }) operation: AuditOperation;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The value written (null for DELETE, or when only its hash was kept)',
  })
  value: string | null;
  @ApiProperty({ enum: ['utf8', 'base64'], nullable: true }) valueEncoding: 'utf8' | 'base64' | null;
  @ApiProperty({ description: 'False when the value was above the size threshold: only sha256 and size' })
  valueStored: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'sha256 (hex) of the value written' })
  valueSha256: string | null;
  @ApiProperty() valueSize: number;
  @ApiProperty() createRevision: number;
  @ApiProperty() version: number;
  @ApiProperty({ description: 'Lease ID (decimal int64, "0" = none)' }) lease: string;
  @ApiProperty({ type: String, nullable: true, description: 'Who made the change, when known' })
  actor: string | null;
  @ApiProperty({ description: 'When the archiving member saw the change (ISO-8601)' }) observedAt: string;
  @ApiProperty({ description: 'True when the change was replayed from MVCC history after a restart' })
  replayed: boolean;
  @ApiProperty({ description: 'Member ID (hex) that archived the row' }) member: string;
}

export class AuditEventPageDto implements AuditEventPageView {
  @ApiProperty({ type: [AuditEventDto] }) events: AuditEventDto[];
  @ApiPropertyOptional({ description: 'Cursor of the next page (absent on the last page)' }) next?: string;
  @ApiProperty({ description: 'Every change up to this revision is archived by the answering member' })
  lastArchivedRevision: number;
}

export class AuditGapDto implements AuditGapView {
  @ApiProperty() fromRevision: number;
  @ApiProperty() toRevision: number;
  @ApiProperty() reason: string;
  @ApiProperty() member: string;
  @ApiProperty() detectedAt: string;
}

export class AuditStatusDto implements AuditStatusView {
  @ApiProperty({ enum: ['sqlite', 'postgres'] }) backend: 'sqlite' | 'postgres';
  @ApiProperty({ description: 'Archive name (cluster ID, hex)' }) archive: string;
  @ApiProperty({ description: 'This member (hex)' }) member: string;
  @ApiProperty() ready: boolean;
  @ApiProperty() lastArchivedRevision: number;
  @ApiProperty({ type: [String], description: "Archived key prefixes ('' = every key)" }) prefixes: string[];
  @ApiProperty() valueMaxBytes: number;
  @ApiPropertyOptional() lastError?: string;
  @ApiProperty({ type: [AuditGapDto] }) gaps: AuditGapDto[];
}
