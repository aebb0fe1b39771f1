// The first thing every HTTP/1.1 request on the client URL meets (installed before any route, see
// cairn-app.ts): the browser-safety guards (Host, Origin, Sec-Fetch-Site, CORS answers) decided by
// @cairn/edge's http-guards, then the body guard: a body is read once here, bounded (413 above the limit,
// without reading on), its JSON nesting bounded (400), and handed on (readRawBody and req.body) so that no
// parser behind it can overflow the stack or read past the limit. gRPC (HTTP/2) never comes here.
import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  type HttpGuardPolicy,
  MAX_JSON_DEPTH,
  guardRequest,
  jsonDepthExceeds,
} from '@cairn/edge';
import type { Logger } from '@cairn/server';
import { RAW_BODY } from './raw-body';

export interface HttpGuardOptions {
  policy: HttpGuardPolicy;
  /** --max-request-bytes, named in the 413 answer. */
  maxRequestBytes: number;
  /** The largest body of an ordinary request (httpBodyLimit(--max-request-bytes)). */
  bodyLimit: number;
  /** The largest body of a config import (a bundle is written in several requests). */
  importBodyLimit: number;
  /** A body must be in within this (--unary-request-timeout), else `etcdserver: request timed out`. */
  bodyTimeoutMs: number;
  /** Hears of each body that did not arrive in time (cairn_request_body_timeouts_total{surface="http"}). */
  onBodyTimeout?: () => void;
  logger: Logger;
}

/** Paths answered in grpc-gateway's error shape ({error, code, message}). */
const GATEWAY_PATH = /^\/v3(beta|alpha)?\//;
/** Config bundle imports: bounded by importBodyLimit (they are written as several Raft requests). */
const IMPORT_PATH = /^\/api\/config\/v1\/import(\/|$)/;

export function installHttpGuards(app: INestApplication, options: HttpGuardOptions): void {
  app.use(browserGuard(options));
  app.use(bodyGuard(options));
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Answers an error in the shape the path's clients read: grpc-gateway's, or Nest's for the REST APIs. */
function refuse(req: Request, res: Response, status: number, grpcCode: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = GATEWAY_PATH.test(req.path)
    ? { error: message, code: grpcCode, message }
    : { statusCode: status, message, error: STATUS_TEXT[status] ?? 'Error' };
  res.status(status).json(body);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  413: 'Payload Too Large',
  421: 'Misdirected Request',
  503: 'Service Unavailable',
};

function browserGuard(options: HttpGuardOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.httpVersionMajor !== 1) {
      next();
      return;
    }
    const verdict = guardRequest(options.policy, {
      method: req.method,
      host: header(req, 'host'),
      origin: header(req, 'origin'),
      secFetchSite: header(req, 'sec-fetch-site'),
      secFetchMode: header(req, 'sec-fetch-mode'),
    });
    if (verdict.kind === 'refuse') {
      options.logger.warn(
        {
          method: req.method,
          path: req.path,
          host: header(req, 'host'),
          origin: header(req, 'origin'),
          status: verdict.status,
        },
        'refused an HTTP request (browser safety)',
      );
      // 403 PermissionDenied (7); 421 has no gRPC twin: Unavailable (14) is what a wrong endpoint means.
      refuse(req, res, verdict.status, verdict.status === 403 ? 7 : 14, verdict.reason);
      return;
    }
    if (verdict.corsOrigin !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', CORS_ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Origin', verdict.corsOrigin);
      res.setHeader('Access-Control-Allow-Headers', CORS_ALLOW_HEADERS);
      if (verdict.corsOrigin !== '*') res.setHeader('Vary', 'Origin');
    }
    if (verdict.kind === 'preflight') {
      // etcd answers every OPTIONS with 200 (embed/serve.go).
      res.status(200).end();
      return;
    }
    next();
  };
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function bodyGuard(options: HttpGuardOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const type = (header(req, 'content-type') ?? '').toLowerCase();
    const encoding = (header(req, 'content-encoding') ?? 'identity').toLowerCase();
    // Zip imports keep their own raw parser; compressed bodies are left to the parsers that inflate them.
    if (!hasBody(req) || type.startsWith('application/zip') || encoding !== 'identity') {
      next();
      return;
    }
    const limit = IMPORT_PATH.test(req.path) ? options.importBodyLimit : options.bodyLimit;
    const tooLarge = (): void => {
      res.setHeader('Connection', 'close');
      refuse(
        req,
        res,
        413,
        8,
        `request body too large: the limit is ${limit} bytes (--max-request-bytes=${options.maxRequestBytes}, ` +
          `as JSON with base64 bytes); see docs/api.md`,
      );
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.pause();
      res.setHeader('Connection', 'close');
      options.onBodyTimeout?.();
      // etcd's answer for a request that outlived the server's bound (as raw-body.ts gives it).
      refuse(req, res, 503, 14, 'etcdserver: request timed out');
    }, options.bodyTimeoutMs);
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', finish);
      if (err !== undefined) {
        if (!res.headersSent) res.destroy();
        return;
      }
      const body = Buffer.concat(chunks, size);
      if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) {
        refuse(req, res, 400, 3, `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
        return;
      }
      (req as Request & { [RAW_BODY]?: Buffer })[RAW_BODY] = body;
      if (!GATEWAY_PATH.test(req.path) && body.length > 0) {
        // The REST parsers behind (express.json in the registry and config modules) see a finished
        // request and skip; they get the parsed body here instead.
        try {
          req.body = JSON.parse(body.toString('utf8')) as unknown;
        } catch (parseError) {
          if (type.includes('json')) {
            const reason = parseError instanceof Error ? parseError.message : String(parseError);
            refuse(req, res, 400, 3, `invalid JSON body: ${reason}`);
            return;
          }
        }
      }
      next();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        clearTimeout(timer);
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        tooLarge();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', finish);
  };
}
