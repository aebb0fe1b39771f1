// Serves the built console (web/dist) at `/` with a single-page-app fallback: any GET for a path that is not a
// file and not one of the server's own routes answers index.html, so deep links such as /keys reload.
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';

/** Paths the console must never shadow: the JSON gateway, REST APIs, probes and metrics. */
const RESERVED = /^\/(v3|v3beta|v3alpha|api|health|livez|readyz|version|metrics)(\/|$)/;

/** Where the built console lives, from apps/server/{src,dist}/console (repo layout) or a configured dir. */
export function findConsoleDir(configured?: string): string | undefined {
  const candidates = configured
    ? [configured]
    : [path.resolve(__dirname, '..', '..', '..', '..', 'web', 'dist')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html')));
}

export type ConsoleHandler = (req: Request, res: Response, next: NextFunction) => void;

/** A client on this machine (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(req: Request): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

export function consoleStaticHandler(
  dir: string | undefined,
  /** Asked per request: auth can be enabled or disabled while the member runs. */
  opts: { allowRemote: () => boolean },
): ConsoleHandler {
  const refuseRemote = (req: Request, res: Response): boolean => {
    if (opts.allowRemote() || isLoopback(req)) return false;
    res
      .status(403)
      .type('text/plain')
      .send(
        'The Cairn console is served to loopback clients only while auth is disabled; enable auth, or start the server with --console-allow-remote.\n',
      );
    return true;
  };
  if (!dir) {
    return (req, res, next) => {
      if (!isConsolePath(req)) return next();
      if (refuseRemote(req, res)) return;
      res
        .status(503)
        .type('text/plain')
        .send('The Cairn console is not built: run `npm run build` (it builds web/ into web/dist).\n');
    };
  }
  const files = express.static(dir, {
    index: false,
    fallthrough: true,
    setHeaders: (res, file) => {
      // Vite's asset names carry a content hash: cache them for good; everything else revalidates.
      if (file.includes(`${path.sep}assets${path.sep}`)) {
        res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      } else res.setHeader('Cache-Control', 'no-cache');
    },
  });
  const index = path.join(dir, 'index.html');
  return (req, res, next) => {
    if (!isConsolePath(req)) return next();
    if (refuseRemote(req, res)) return;
    files(req, res, () => {
      // Not a file: a client-side route gets the app; a missing asset stays a 404.
      if (path.extname(req.path) !== '' && !req.path.endsWith('.html')) return next();
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(index, (err) => {
        if (err) next(err);
      });
    });
  };
}

function isConsolePath(req: Request): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && !RESERVED.test(req.path);
}
