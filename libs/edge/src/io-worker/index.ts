// The I/O worker (docs/architecture.md, "Using more than one core"): the client listener and the gRPC front's
// framing on a worker thread, the member's state and the request pipeline on the main thread.
export { IoWorkerListener, type IoWorkerOptions } from './io-worker-listener';
