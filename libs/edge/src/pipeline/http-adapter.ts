// Everything served over HTTP/1.1 on the client URL — the JSON gateway, the REST APIs, SSE streams, the
// console and its files, the probes — goes through the pipeline here, as the first middleware: admitted
// before routing, ended when the response finishes or the client goes away, and labelled with the route that
// served it (a route pattern, never a raw path, so metrics stay bounded).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpStatusForGrpcCode, toGrpcStatus } from '@cairn/api';
import { ANONYMOUS, type CallContext } from '../call-context';
import { type PipelineCall, type RequestPipeline, whenAdmitted } from './pipeline';
import type { RequestInfo } from './request';
import { verifiedCommonName } from '../tls/peer-certificate';

const CALLS = new WeakMap<IncomingMessage, PipelineCall>();

export interface HttpPipelineOptions {
  /** Requests that wait by design (watch streams, SSE, keep-alive streams, lock, campaign). */
  isBlocking(method: string, path: string, accept: string | undefined): boolean;
}

/** What Express leaves on a request once a route matched (`req.route.path`, `req.baseUrl`). */
interface RoutedRequest extends IncomingMessage {
  route?: { path?: unknown };
  baseUrl?: string;
}

type Next = (err?: unknown) => void;

/** The middleware (Express/Connect signature) that runs every HTTP request through `pipeline`. */
export function httpPipelineMiddleware(
  pipeline: RequestPipeline,
  options: HttpPipelineOptions,
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const verb = req.method ?? 'GET';
    const aborted = new AbortController();
    const length = Number(req.headers['content-length']);
    const request: RequestInfo = {
      surface: 'http',
      method: `${verb} (unrouted)`,
      kind: 'unary',
      header: (name) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      blocking: options.isBlocking(verb, path, req.headers.accept),
      requestBytes: Number.isFinite(length) ? length : undefined,
      remoteAddress: req.socket.remoteAddress,
      certificateCommonName: verifiedCommonName(req.socket),
      signal: aborted.signal,
    };
    let admission: PipelineCall | Promise<PipelineCall>;
    try {
      admission = pipeline.begin(request);
    } catch (err) {
      answerRefusal(res, err);
      return;
    }
    whenAdmitted(
      admission,
      (call) => {
        // Admitted later (a token awaited): the client may have gone meanwhile.
        if (res.destroyed) {
          call.end(undefined, 'Canceled');
          return;
        }
        CALLS.set(req, call);
        const finish = (): void => {
          request.method = routeLabel(req as RoutedRequest, verb);
          call.end(undefined, String(res.statusCode));
        };
        res.once('finish', finish);
        res.once('close', () => {
          if (res.writableFinished) return;
          aborted.abort();
          request.method = routeLabel(req as RoutedRequest, verb);
          call.end(undefined, 'Canceled');
        });
        next();
      },
      (refusal) => answerRefusal(res, refusal),
    );
  };
}

/** The context the pipeline built for this request (anonymous, unbounded if it did not pass through it). */
export function callContextOf(req: IncomingMessage): CallContext {
  return CALLS.get(req)?.context ?? { identity: ANONYMOUS };
}

function routeLabel(req: RoutedRequest, verb: string): string {
  const route = req.route?.path;
  if (typeof route === 'string') return `${verb} ${req.baseUrl ?? ''}${route}`;
  return `${verb} (unrouted)`;
}

/** A refused request: etcd's JSON error shape ({error, code, message}) with the status of its gRPC code. */
function answerRefusal(res: ServerResponse, err: unknown): void {
  const status = toGrpcStatus(err);
  const body = JSON.stringify({ error: status.details, code: status.code, message: status.details });
  res.statusCode = httpStatusForGrpcCode(status.code);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
