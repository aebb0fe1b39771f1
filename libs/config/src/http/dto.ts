// Request bodies of /api/config/v1, validated at the edge (class-validator) and described for OpenAPI.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

const FORMATS = ['json', 'yaml', 'properties', 'text'];

export class DescriptionDto {
  @ApiPropertyOptional({ example: 'payments team' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;
}

export class PutItemDto {
  @ApiPropertyOptional({ enum: FORMATS, description: 'required when creating the item' })
  @IsOptional()
  @IsIn(FORMATS)
  format?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiPropertyOptional({ description: 'JSON Schema (as JSON text) enforced on publish; "" removes it' })
  @IsOptional()
  @IsString()
  schema?: string;
  @ApiPropertyOptional({
    description:
      'secret: content stored encrypted (needs --config-encryption-key-file, else 400) and shown masked ' +
      'unless ?reveal=true',
  })
  @IsOptional()
  @IsBoolean()
  secret?: boolean;
}

export class SaveDraftDto {
  @ApiProperty({ example: 'greeting: hello\n' })
  @IsString()
  content: string;

  @ApiPropertyOptional({
    example: 'alice',
    description: "the caller's own note; the actor recorded is the authenticated user",
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  author?: string;

  @ApiPropertyOptional({ description: 'live modRevision the draft starts from (default: the current one)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  baseRevision?: number;
}

export class PublishDto {
  @ApiPropertyOptional({ description: 'content to publish; omit with fromDraft: true to publish the draft' })
  @IsOptional()
  @IsString()
  content?: string;

  @ApiPropertyOptional({ description: 'publish the saved draft' })
  @IsOptional()
  @IsBoolean()
  fromDraft?: boolean;

  @ApiPropertyOptional({
    example: 'alice',
    description: "the caller's own note; the actor recorded is the authenticated user",
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  author?: string;

  @ApiPropertyOptional({ example: 'raise the pool size' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  comment?: string;

  @ApiPropertyOptional({
    description:
      'the live modRevision this edit is based on (0 = not published yet); a different live revision is a 409',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  expectedRevision?: number;
}

export class ValidateDto {
  @ApiProperty()
  @IsString()
  content: string;

  @ApiPropertyOptional({ enum: FORMATS, description: "default: the item's format" })
  @IsOptional()
  @IsIn(FORMATS)
  format?: string;
}

export class RollbackDto {
  @ApiProperty({ description: 'release number to restore (as a new release)' })
  @IsInt()
  @Min(1)
  version: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  author?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  comment?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(0)
  expectedRevision?: number;
}

export class GrayRuleDto {
  @ApiPropertyOptional({ example: { zone: 'eu-1', canary: 'true' }, description: 'all must match' })
  @IsOptional()
  @IsObject()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ example: 10, description: 'share of label-matching subscribers (default 100)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  percentage?: number;
}

export class StartGrayDto {
  @ApiProperty()
  @IsString()
  content: string;

  @ApiProperty({ type: GrayRuleDto })
  @ValidateNested()
  @Type(() => GrayRuleDto)
  rule: GrayRuleDto;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  author?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  comment?: string;
}

export class PromoteGrayDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  author?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  comment?: string;
}

export class ReportDto {
  @ApiProperty({ example: 'orders-7f9c-1' })
  @IsString()
  @MaxLength(200)
  subscriberId: string;

  @ApiPropertyOptional({ example: { zone: 'eu-1' } })
  @IsOptional()
  @IsObject()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ example: { 'app.yaml': 3 }, description: 'item name -> applied release number' })
  @IsOptional()
  @IsObject()
  versions?: Record<string, number>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  host?: string;
}

export class ImportDto {
  @ApiProperty({ description: 'a cairn.config.bundle (see export)' })
  @IsObject()
  bundle: Record<string, unknown>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(256)
  author?: string;

  @ApiPropertyOptional({ description: 'publish changed content as releases (default: save drafts)' })
  @IsOptional()
  @IsBoolean()
  publish?: boolean;
}
