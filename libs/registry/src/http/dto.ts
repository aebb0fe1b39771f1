// Request bodies and queries of the REST API, validated at the edge (class-validator) and documented
// (OpenAPI). The registry core re-checks the rules that every surface shares (names, address, TTL).
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { CHECK_TYPES, HEALTH_STATUSES, INSTANCE_STATUSES, MAX_TTL, MIN_TTL } from '../model';
import type { CheckType, HealthStatus, InstanceStatus } from '../model';

export class AddressDto {
  @ApiProperty({ example: '10.0.0.7', description: 'hostname or IP address' })
  @IsString()
  @IsNotEmpty({ message: 'host is required' })
  host: string;

  @ApiProperty({ example: 8080, minimum: 1, maximum: 65535 })
  @IsInt({ message: 'port must be an integer' })
  @Min(1, { message: 'port must be in 1..65535' })
  @Max(65535, { message: 'port must be in 1..65535' })
  port: number;

  @ApiPropertyOptional({ example: 'http', default: 'http', description: 'http, https, grpc, tcp...' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z][a-z0-9+.-]{0,15}$/, { message: 'scheme must be a lowercase URI scheme' })
  scheme?: string;
}

export class HealthCheckDto {
  @ApiProperty({ enum: CHECK_TYPES, example: 'http' })
  @IsIn(CHECK_TYPES as CheckType[], { message: `check.type must be one of ${CHECK_TYPES.join(', ')}` })
  type: CheckType;

  @ApiPropertyOptional({
    example: '/health',
    description:
      'http: URL or path on the instance address; tcp/grpc: host:port (default: the instance address)',
  })
  @IsOptional()
  @IsString()
  target?: string;

  @ApiPropertyOptional({ description: 'grpc: service name asked of grpc.health.v1.Health/Check' })
  @IsOptional()
  @IsString()
  grpc_service?: string;

  @ApiPropertyOptional({ example: 10000, minimum: 100, maximum: 3600000, default: 10000 })
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  interval_ms?: number;

  @ApiPropertyOptional({ example: 2000, minimum: 10, maximum: 60000, default: 2000 })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(60_000)
  timeout_ms?: number;

  @ApiPropertyOptional({ example: 3, minimum: 1, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  failures_before_critical?: number;

  @ApiPropertyOptional({ example: 2, minimum: 1, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  successes_before_passing?: number;

  @ApiPropertyOptional({ example: 60000, description: '0 = never deregister', default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  deregister_critical_after_ms?: number;
}

export class RegisterInstanceDto {
  @ApiProperty({ type: AddressDto })
  @IsObject({ message: 'address is required' })
  @ValidateNested()
  @Type(() => AddressDto)
  address: AddressDto;

  @ApiPropertyOptional({
    example: 10,
    minimum: MIN_TTL,
    maximum: MAX_TTL,
    default: 10,
    description: 'lease TTL, s',
  })
  @IsOptional()
  @IsInt({ message: 'ttl must be an integer number of seconds' })
  @Min(MIN_TTL, { message: `ttl is out of range: ${MIN_TTL}..${MAX_TTL} seconds` })
  @Max(MAX_TTL, { message: `ttl is out of range: ${MIN_TTL}..${MAX_TTL} seconds` })
  ttl?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { region: 'eu' },
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, string>;

  @ApiPropertyOptional({ type: [String], example: ['primary'] })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  tags?: string[];

  @ApiPropertyOptional({ example: 1, minimum: 0, maximum: 10000, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10000)
  weight?: number;

  @ApiPropertyOptional({ example: 'eu-west-1a' })
  @IsOptional()
  @IsString()
  zone?: string;

  @ApiPropertyOptional({ example: '1.4.2' })
  @IsOptional()
  @IsString()
  version?: string;

  @ApiPropertyOptional({ enum: INSTANCE_STATUSES, default: 'UP' })
  @IsOptional()
  @IsIn(INSTANCE_STATUSES as InstanceStatus[])
  status?: InstanceStatus;

  @ApiPropertyOptional({ type: HealthCheckDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => HealthCheckDto)
  check?: HealthCheckDto;

  @ApiPropertyOptional({
    example: '7587862245432318983',
    description: "a session (POST .../sessions) to attach the instance to; its TTL is the session's",
  })
  @IsOptional()
  @IsString()
  @Matches(/^[1-9]\d{0,18}$/, { message: 'session must be a decimal lease ID' })
  session?: string;
}

/** One instance of a RegisterBatch: what a Register body holds, plus its service and id (no ttl/session). */
export class BatchInstanceDto extends RegisterInstanceDto {
  @ApiProperty({ example: 'orders' })
  @IsString({ message: 'service name is required' })
  service: string;

  @ApiProperty({ example: 'orders-1' })
  @IsString({ message: 'instance name is required' })
  id: string;
}

export class RegisterBatchDto {
  @ApiProperty({
    type: [BatchInstanceDto],
    description: 'each checked on its own (one bad instance gets its own error); at most 10,000',
  })
  @IsArray()
  @ArrayMaxSize(10_000)
  @IsObject({ each: true, message: 'each instance must be an object' })
  instances: Record<string, unknown>[];
}

export class OpenSessionDto {
  @ApiPropertyOptional({ example: 10, minimum: MIN_TTL, maximum: MAX_TTL, default: 10, description: 's' })
  @IsOptional()
  @IsInt({ message: 'ttl must be an integer number of seconds' })
  @Min(MIN_TTL, { message: `ttl is out of range: ${MIN_TTL}..${MAX_TTL} seconds` })
  @Max(MAX_TTL, { message: `ttl is out of range: ${MIN_TTL}..${MAX_TTL} seconds` })
  ttl?: number;
}

export class KeepAliveDto {
  @ApiProperty({ type: [String], example: ['7587862245432318983'], description: 'lease IDs (decimal)' })
  @IsArray()
  @IsString({ each: true })
  leases: string[];
}

export class UpdateInstanceDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'merged into the metadata; an empty value removes the key',
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, string>;

  @ApiPropertyOptional({ enum: INSTANCE_STATUSES })
  @IsOptional()
  @IsIn(INSTANCE_STATUSES as InstanceStatus[], {
    message: `status must be one of ${INSTANCE_STATUSES.join(', ')}`,
  })
  status?: InstanceStatus;
}

export class ListInstancesQuery {
  @ApiPropertyOptional({ enum: HEALTH_STATUSES })
  @IsOptional()
  @IsIn(HEALTH_STATUSES as HealthStatus[], { message: `health must be one of ${HEALTH_STATUSES.join(', ')}` })
  health?: HealthStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  tag?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  zone?: string;

  @ApiPropertyOptional({
    description: 'comma-separated key=value pairs that must all match',
    example: 'region=eu',
  })
  @IsOptional()
  @IsString()
  metadata?: string;
}
