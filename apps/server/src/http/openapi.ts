// One OpenAPI document for every REST API of the member (registry, config, audit, console): the UI at
// /api/docs, the JSON at /api/docs-json. Feature modules only decorate their controllers (@ApiTags,
// @ApiOperation, @ApiProperty on DTOs); the etcd JSON gateway (/v3/*) and probes are left out.
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { CAIRN_VERSION } from '@cairn/server';

export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Cairn')
    .setDescription(
      'REST APIs of a Cairn member: service registry (/api/registry/v1), config center (/api/config/v1), audit (/api/audit/v1), console (/api/console/v1). The etcd v3 API is served over gRPC and the JSON gateway (/v3/*) on the same port.',
    )
    .setVersion(CAIRN_VERSION)
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    include: [],
    deepScanRoutes: true,
  });
  // Only the /api/* REST surface: the gateway's catch-all routes are not an API of their own.
  for (const path of Object.keys(document.paths)) {
    if (!path.startsWith('/api/')) delete document.paths[path];
  }
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
}
